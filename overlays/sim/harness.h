// pynq-accel Verilator harness: the verilated accel_top, a shared-memory DDR model, an AXI DMA 7.1
// register model (MM2S + S2MM; direct register mode, or scatter-gather mode when the spec's DMA is
// built with c_include_sg), a memory-timing model and an AXI-Lite master.
//
// Every size, offset and bit comes from the generated accel_spec.h (spec.c_header()); the AXI DMA
// register offsets and bits, and the scatter-gather descriptor format, are those of Xilinx PG021
// (AXI DMA v7.1, "Register Space" and "Scatter Gather Descriptor"). The C ABI codes (enum Fault, Channel, Status, IrqLine and SIM_ABI_VERSION) are
// generated into the same header from overlays/sim_abi.py, which sim.py reads too.
//
// The clock runs here, in C++. Python only issues register reads/writes and run(cycles); a read of a
// busy channel's DMASR runs the clock until that channel is idle/halted/errored, until nothing has
// moved for `deadlock_window` cycles, or until `poll_budget` cycles have passed.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

#include "accel_spec.h"

class Vaccel_top;
class VerilatedContext;

namespace accelsim {

// ---------------------------------------------------------------- AXI DMA 7.1 (PG021) register map
// Offsets from the DMA base (the spec's [dma.*] tables, PG021); the S2MM block follows the MM2S one.
constexpr uint32_t DMA_S2MM_OFFSET = SPEC_DMA_CH_S2MM - SPEC_DMA_CH_MM2S;
constexpr uint32_t DMA_DMACR = SPEC_DMA_CH_MM2S + SPEC_DMA_REG_DMACR;
constexpr uint32_t DMA_DMASR = SPEC_DMA_CH_MM2S + SPEC_DMA_REG_DMASR;
constexpr uint32_t DMA_ADDR = SPEC_DMA_CH_MM2S + SPEC_DMA_REG_ADDR;      // MM2S_SA / S2MM_DA
constexpr uint32_t DMA_ADDR_MSB = SPEC_DMA_CH_MM2S + SPEC_DMA_REG_ADDR_MSB;  // MM2S_SA_MSB / S2MM_DA_MSB (address width > 32 only)
constexpr uint32_t DMA_LENGTH = SPEC_DMA_CH_MM2S + SPEC_DMA_REG_LENGTH;    // MM2S_LENGTH / S2MM_LENGTH
constexpr uint32_t DMA_CURDESC = SPEC_DMA_CH_MM2S + SPEC_DMA_REG_CURDESC;  // scatter-gather
constexpr uint32_t DMA_CURDESC_MSB = SPEC_DMA_CH_MM2S + SPEC_DMA_REG_CURDESC_MSB;
constexpr uint32_t DMA_TAILDESC = SPEC_DMA_CH_MM2S + SPEC_DMA_REG_TAILDESC;
constexpr uint32_t DMA_TAILDESC_MSB = SPEC_DMA_CH_MM2S + SPEC_DMA_REG_TAILDESC_MSB;
constexpr bool DMA_SG = SPEC_DMA_INCLUDE_SG != 0;

// DMACR bits
constexpr uint32_t DMACR_RS = 1u << SPEC_DMACR_RS_BIT;
constexpr uint32_t DMACR_RESET = 1u << SPEC_DMACR_RESET_BIT;
constexpr uint32_t DMACR_KEYHOLE = 1u << SPEC_DMACR_KEYHOLE_BIT;
constexpr uint32_t DMACR_IOC_IRQEN = 1u << SPEC_DMACR_IOC_IRQEN_BIT;
constexpr uint32_t DMACR_DLY_IRQEN = 1u << SPEC_DMACR_DLY_IRQEN_BIT;
constexpr uint32_t DMACR_ERR_IRQEN = 1u << SPEC_DMACR_ERR_IRQEN_BIT;
constexpr uint32_t DMACR_WRITABLE = DMACR_RS | DMACR_KEYHOLE | DMACR_IOC_IRQEN | DMACR_DLY_IRQEN |
                                    DMACR_ERR_IRQEN | uint32_t(SPEC_DMACR_FIELDS_MASK);  // + IRQThreshold/IRQDelay
constexpr uint32_t DMACR_RESET_VALUE = uint32_t(SPEC_DMACR_RESET_VALUE);               // IRQThreshold = 1
constexpr uint32_t DMACR_IRQTHRESHOLD_MASK = (1u << SPEC_DMACR_IRQTHRESHOLD_WIDTH) - 1;

// DMASR bits
constexpr uint32_t DMASR_HALTED = 1u << SPEC_DMASR_HALTED_BIT;
constexpr uint32_t DMASR_IDLE = 1u << SPEC_DMASR_IDLE_BIT;
constexpr uint32_t DMASR_SGINCLD = 1u << SPEC_DMASR_SGINCLD_BIT;  // set when built with scatter-gather
constexpr uint32_t DMASR_SGINTERR = 1u << SPEC_DMASR_SGINTERR_BIT;
constexpr uint32_t DMASR_SGSLVERR = 1u << SPEC_DMASR_SGSLVERR_BIT;
constexpr uint32_t DMASR_SGDECERR = 1u << SPEC_DMASR_SGDECERR_BIT;
constexpr uint32_t DMASR_INTERR = 1u << SPEC_DMASR_INTERR_BIT;
constexpr uint32_t DMASR_SLVERR = 1u << SPEC_DMASR_SLVERR_BIT;
constexpr uint32_t DMASR_DECERR = 1u << SPEC_DMASR_DECERR_BIT;
constexpr uint32_t DMASR_IOC_IRQ = 1u << SPEC_DMASR_IOC_IRQ_BIT;
constexpr uint32_t DMASR_DLY_IRQ = 1u << SPEC_DMASR_DLY_IRQ_BIT;
constexpr uint32_t DMASR_ERR_IRQ = 1u << SPEC_DMASR_ERR_IRQ_BIT;
constexpr uint32_t DMASR_W1C = DMASR_IOC_IRQ | DMASR_DLY_IRQ | DMASR_ERR_IRQ;

// Scatter-gather descriptors (PG021): word offsets, CONTROL/STATUS bits.
constexpr uint64_t DESC_BYTES = SPEC_DESC_BYTES;
constexpr uint64_t DESC_ALIGN_MASK = ~(DESC_BYTES - 1);  // the low address bits are ignored
constexpr uint32_t DESC_SOF = 1u << SPEC_DESC_CTRL_SOF_BIT;
constexpr uint32_t DESC_EOF = 1u << SPEC_DESC_CTRL_EOF_BIT;
constexpr uint32_t DESC_CMPLT = 1u << SPEC_DESC_STS_CMPLT_BIT;
constexpr uint32_t DESC_DECERR = 1u << SPEC_DESC_STS_DMADECERR_BIT;
constexpr uint32_t DESC_SLVERR = 1u << SPEC_DESC_STS_DMASLVERR_BIT;
constexpr uint32_t DESC_INTERR = 1u << SPEC_DESC_STS_DMAINTERR_BIT;
constexpr uint32_t DESC_RXSOF = 1u << SPEC_DESC_STS_RXSOF_BIT;
constexpr uint32_t DESC_RXEOF = 1u << SPEC_DESC_STS_RXEOF_BIT;

// ---------------------------------------------------------------- model constants
constexpr unsigned BEAT_BYTES = SPEC_DATA_WIDTH / 8;
constexpr uint64_t LENGTH_MASK = (1ull << SPEC_DMA_LENGTH_WIDTH) - 1;
constexpr uint64_t ADDR_MASK = SPEC_DMA_ADDR_WIDTH >= 64 ? ~0ull : (1ull << SPEC_DMA_ADDR_WIDTH) - 1;
#ifndef SIM_AXIL_ADDR_WIDTH
#error "build with -DSIM_AXIL_ADDR_WIDTH=<spec.axil_addr_width>"
#endif
// Offsets inside the accelerator window alias modulo the AXI-Lite address width (the interconnect
// drops the upper bits, as in the block design); Verilator needs inputs without stray upper bits.
constexpr uint64_t AXIL_MASK = (1ull << SIM_AXIL_ADDR_WIDTH) - 1;
// Bytes of read data the DMA may hold ahead of the stream (outstanding read bursts + its data FIFO),
// and bytes of S2MM stream data it may hold before they are written to memory.
constexpr uint64_t MM2S_BUFFER_BYTES = 4096;
constexpr uint64_t S2MM_BUFFER_BYTES = 4096;
constexpr uint64_t RESET_CYCLES = 16;
// PG021: on an error the channel clears DMACR.RS and halts "gracefully": DMASR.Halted is set once
// the engine has shut down. The error bits are visible at once, Halted this many cycles later
// (longer than one MMIO access, so PYNQ's wait() sees "running" and then reports the error bit).
constexpr uint64_t HALT_DELAY_CYCLES = 32;
constexpr uint64_t AXIL_TIMEOUT_CYCLES = 10000;
// Scatter-gather engine: descriptors fetched ahead of the data mover, the read-port beats one fetch
// takes (a fetch is a read of the whole descriptor at the read bandwidth, after the memory latency),
// and the write-port beats of one STATUS write-back.
constexpr unsigned SG_QUEUE = 4;
constexpr uint64_t DESC_FETCH_BEATS = (DESC_BYTES + SPEC_MEM_READ_BPC - 1) / SPEC_MEM_READ_BPC;
constexpr uint64_t DESC_UPDATE_BEATS = 1;

struct Desc {
  uint64_t addr = 0;     // where it lives (physical)
  uint64_t next = 0;     // NXTDESC
  uint64_t buf = 0;      // BUFFER_ADDRESS
  uint32_t control = 0;  // CONTROL
  uint64_t ready = 0;    // cycle its fetch completes
};

struct DmaChannel {
  // architectural registers
  uint32_t dmacr = DMACR_RESET_VALUE;
  bool halted = true, idle = false;
  bool int_err = false, slv_err = false, dec_err = false;
  bool ioc_irq = false, err_irq = false, dly_irq = false;
  uint32_t addr_lo = 0, addr_hi = 0;
  uint32_t length = 0;    // LENGTH as programmed
  uint32_t received = 0;  // S2MM: bytes received (LENGTH read-back once the transfer ended)
  // transfer in flight
  bool busy = false;
  uint64_t offset = 0;      // byte offset of the buffer in the DDR model
  uint64_t len = 0;         // bytes of the transfer
  uint64_t data_start = 0;  // cycle from which the memory side moves data (LENGTH write + latency)
  uint64_t mem_bytes = 0;   // MM2S: bytes read from memory; S2MM: bytes written to memory
  uint64_t strm_bytes = 0;  // MM2S: bytes sent on the stream; S2MM: bytes received
  uint32_t pending_err = 0; // DMASR error bit raised when the memory side starts (SLVERR/DECERR)
  uint64_t halt_at = 0;     // after an error: cycle at which Halted is set (0: none pending)
  bool no_tlast = false;    // MM2S: this transfer sends no TLAST (drop_tlast fault)
  bool eof = true;          // MM2S: TLAST after this transfer (scatter-gather: CONTROL.EOF)
  bool got_last = false;    // S2MM: TLAST received
  bool beat_valid = false;  // MM2S: a beat is on s_axis
  unsigned beat_n = 0;      // MM2S: bytes in that beat
  // scatter-gather engine
  uint32_t curdesc_lo = 0, curdesc_hi = 0, taildesc_lo = 0, taildesc_hi = 0;
  uint64_t taildesc = 0;        // the tail as last written (TAILDESC write)
  bool sg_int_err = false, sg_slv_err = false, sg_dec_err = false;
  bool from_curdesc = true;     // the next chain starts at CURDESC (else after the last descriptor fetched)
  bool fetching = false;        // the fetcher has not reached the tail yet
  uint64_t fetch_addr = 0;      // next descriptor to fetch
  uint64_t fetch_free = 0;      // cycle the fetcher may issue its next fetch
  Desc queue[SG_QUEUE];         // fetched, not yet moved
  unsigned q_head = 0, q_n = 0;
  bool have_desc = false;       // `cur` is being moved
  Desc cur;
  uint64_t mem_done_at = 0;     // cycle the previous descriptor's memory side finished
  bool in_packet = false;       // S2MM: the current packet started in an earlier descriptor
  uint32_t irq_left = 1;        // packets until the next IOC interrupt (IRQThreshold)
  uint8_t carry[BEAT_BYTES] = {};  // S2MM: bytes of a beat beyond a full descriptor, for the next one
  unsigned carry_n = 0;
  bool carry_last = false;
  // armed faults (cleared by a DMA reset)
  bool f_slverr = false, f_decerr = false, f_stall = false, f_drop_tlast = false;
  bool f_sg_fetch = false, f_sg_pointer = false, f_sg_reused = false;
  // statistics (survive resets)
  uint64_t n_transfers = 0, n_bytes = 0, n_errors = 0, n_desc = 0;

  bool any_error() const { return int_err || slv_err || dec_err || sg_int_err || sg_slv_err || sg_dec_err; }
  void settle(uint64_t now) {
    if (halt_at && now >= halt_at) {
      halted = true;
      halt_at = 0;
    }
  }
  uint32_t dmasr() const {
    return (halted ? DMASR_HALTED : 0) | (idle ? DMASR_IDLE : 0) | (int_err ? DMASR_INTERR : 0) |
           (slv_err ? DMASR_SLVERR : 0) | (dec_err ? DMASR_DECERR : 0) | (ioc_irq ? DMASR_IOC_IRQ : 0) |
           (dly_irq ? DMASR_DLY_IRQ : 0) | (err_irq ? DMASR_ERR_IRQ : 0) | (DMA_SG ? DMASR_SGINCLD : 0) |
           (sg_int_err ? DMASR_SGINTERR : 0) | (sg_slv_err ? DMASR_SGSLVERR : 0) | (sg_dec_err ? DMASR_SGDECERR : 0);
  }
  bool introut() const {
    return (ioc_irq && (dmacr & DMACR_IOC_IRQEN)) || (err_irq && (dmacr & DMACR_ERR_IRQEN));
  }
  void reset_registers();
};

class Harness {
 public:
  explicit Harness(const char* shm_path);  // throws std::runtime_error
  ~Harness();
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  int read32(uint64_t addr, uint32_t* value);
  int write32(uint64_t addr, uint32_t value);
  void run(uint64_t cycles);
  uint64_t cycles() const { return cycle_; }
  int inject(int fault, int channel);
  void reset();
  void configure(uint64_t deadlock_window, uint64_t poll_budget);
  int stats(uint64_t* out, int n) const;
  uint32_t irq_lines() const;

  std::mutex mutex;  // ctypes releases the GIL: serialise calls per instance

 private:
  inline void tick();
  void drive();
  void mm2s_fired();
  void s2mm_fired();
  void mm2s_cycle();
  void s2mm_cycle();
  void load_beat(unsigned n);
  void complete(DmaChannel& ch);
  void raise_error(DmaChannel& ch, uint32_t bit);
  void dma_reset();
  void start_transfer(DmaChannel& ch, bool is_mm2s);
  // scatter-gather mode
  void sg_tail_written(DmaChannel& ch);
  void sg_fetch(DmaChannel& ch);
  bool sg_pickup(DmaChannel& ch, bool is_mm2s);
  void sg_complete(DmaChannel& ch, bool is_mm2s);
  void sg_s2mm_cycle();
  void sg_s2mm_fired();
  uint32_t rd32(uint64_t addr) const;
  void wr32(uint64_t addr, uint32_t v);
  static bool in_ddr(uint64_t addr, uint64_t len) {
    return addr >= SPEC_DDR_BASE && addr - SPEC_DDR_BASE <= SPEC_DDR_SIZE && len <= SPEC_DDR_SIZE - (addr - SPEC_DDR_BASE);
  }
  uint32_t dma_read(uint32_t off);
  void dma_write(uint32_t off, uint32_t value);
  void poll(DmaChannel& ch);
  int axil(bool write, uint32_t off, uint32_t wdata, uint32_t* rdata);
  void axil_idle_signals();
  void hold(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) tick();
  }

  VerilatedContext* ctx_ = nullptr;
  Vaccel_top* top_ = nullptr;
  uint8_t* ddr_ = nullptr;

  uint64_t cycle_ = 0;
  uint64_t last_progress_ = 0;
  uint64_t deadlock_seen_ = ~0ull;  // last_progress_ value of the last deadlock counted
  uint64_t deadlock_window_ = 20000;
  uint64_t poll_budget_ = 200000000;

  DmaChannel mm2s_, s2mm_;
  bool accel_hang_ = false;

  // m_axis beat captured before the clock edge
  uint8_t m_buf_[BEAT_BYTES + 8] = {};
  unsigned m_n_ = 0;
  bool m_last_ = false;

  // AXI-Lite master
  bool axil_active_ = false;
  bool axil_done_ = false;
  bool aw_fire_ = false, w_fire_ = false, b_fire_ = false, ar_fire_ = false, r_fire_ = false;
  uint32_t axil_rdata_ = 0, axil_resp_ = 0;

  // statistics
  uint64_t sim_ns_ = 0, cpu_ns_ = 0;
  uint64_t mmio_reads_ = 0, mmio_writes_ = 0, polls_ = 0, poll_cycles_ = 0;
  uint64_t transitions_ = 0;  // DMA channel completions + errors, for poll()
  uint64_t deadlocks_ = 0, budget_stops_ = 0, beats_in_ = 0, beats_out_ = 0;
  uint64_t rd_steal_ = 0, wr_steal_ = 0;  // port beats owed to descriptor fetches / STATUS write-backs
  uint64_t desc_fetches_ = 0, desc_updates_ = 0;
  uint64_t ddr_size_ = SPEC_DDR_SIZE;

  friend struct WallTimer;
};

}  // namespace accelsim
