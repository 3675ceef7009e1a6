// pynq-accel Verilator harness: implementation and the extern "C" ABI loaded by accel.overlays.sim.
// See harness.h for the model overview and sim.py for the Python side.

#include "harness.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <new>
#include <stdexcept>

#include "Vaccel_top.h"
#include "verilated.h"

namespace accelsim {

// --------------------------------------------------------------------------- port <-> bytes
// Stream ports are CData/SData/IData/QData (<= 64 bits) or VlWide<N> (wider); x86/ARM are
// little-endian, so byte i of the stream is byte i of the port's storage.
template <typename T>
static inline void bytes_to_port(T& port, const uint8_t* src, unsigned n) {
  T v = 0;
  std::memcpy(&v, src, n);
  port = v;
}
template <std::size_t N>
static inline void bytes_to_port(VlWide<N>& port, const uint8_t* src, unsigned n) {
  EData w[N] = {};
  std::memcpy(w, src, n);
  for (std::size_t i = 0; i < N; ++i) port[i] = w[i];
}
template <typename T>
static inline void port_to_bytes(const T& port, uint8_t* dst) {
  T v = port;
  std::memcpy(dst, &v, sizeof(T));
}
template <std::size_t N>
static inline void port_to_bytes(const VlWide<N>& port, uint8_t* dst) {
  for (std::size_t i = 0; i < N; ++i) {
    EData w = port[i];
    std::memcpy(dst + 4 * i, &w, 4);
  }
}
static inline uint64_t keep_bits(const uint64_t& k) { return k; }
template <std::size_t N>
static inline uint64_t keep_bits(const VlWide<N>& k) { return k[0] | (N > 1 ? uint64_t(k[1]) << 32 : 0); }

constexpr uint64_t FULL_KEEP = BEAT_BYTES >= 64 ? ~0ull : (1ull << BEAT_BYTES) - 1;

// --------------------------------------------------------------------------- wall-clock accounting
// Wall time (what users wait for) and this thread's CPU time (what the model costs, whatever else
// runs on the machine) spent inside the harness.
static inline uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}
struct WallTimer {
  Harness& h;
  std::chrono::steady_clock::time_point t0;
  uint64_t c0;
  explicit WallTimer(Harness& harness)
      : h(harness), t0(std::chrono::steady_clock::now()), c0(thread_cpu_ns()) {}
  ~WallTimer() {
    h.sim_ns_ += std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0)
                     .count();
    h.cpu_ns_ += thread_cpu_ns() - c0;
  }
};

void DmaChannel::reset_registers() {
  dmacr = DMACR_RESET_VALUE;
  halted = true;
  idle = false;
  int_err = slv_err = dec_err = false;
  ioc_irq = err_irq = dly_irq = false;
  addr_lo = addr_hi = 0;
  length = received = 0;
  busy = false;
  offset = len = data_start = mem_bytes = strm_bytes = 0;
  pending_err = 0;
  halt_at = 0;
  no_tlast = got_last = beat_valid = false;
  beat_n = 0;
  f_slverr = f_decerr = f_stall = f_drop_tlast = false;
}

// --------------------------------------------------------------------------- construction
Harness::Harness(const char* shm_path) {
  int fd = ::open(shm_path, O_RDWR);
  if (fd < 0) throw std::runtime_error(std::string("cannot open DDR file ") + shm_path + ": " + strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || uint64_t(st.st_size) != SPEC_DDR_SIZE) {
    ::close(fd);
    throw std::runtime_error(std::string("DDR file ") + shm_path + " must be exactly " +
                             std::to_string(SPEC_DDR_SIZE) + " bytes (spec ddr_size)");
  }
  void* p = ::mmap(nullptr, SPEC_DDR_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  ::close(fd);
  if (p == MAP_FAILED) throw std::runtime_error(std::string("mmap of ") + shm_path + " failed: " + strerror(errno));
  ddr_ = static_cast<uint8_t*>(p);

  ctx_ = new VerilatedContext;
  ctx_->threads(1);
  ctx_->fatalOnError(false);
  top_ = new Vaccel_top(ctx_, "accel_top");
  top_->clk = 0;
  top_->rst = 1;
  axil_idle_signals();
  top_->s_axis_tvalid = 0;
  top_->m_axis_tready = 0;
  top_->eval();
  reset();
  cycle_ = 0;  // the power-on reset is not counted
  last_progress_ = 0;
}

Harness::~Harness() {
  if (top_) {
    top_->final();
    delete top_;
  }
  delete ctx_;
  if (ddr_) ::munmap(ddr_, SPEC_DDR_SIZE);
}

void Harness::axil_idle_signals() {
  Vaccel_top* t = top_;
  t->s_axil_awaddr = 0;
  t->s_axil_awprot = 0;
  t->s_axil_awvalid = 0;
  t->s_axil_wdata = 0;
  t->s_axil_wstrb = 0;
  t->s_axil_wvalid = 0;
  t->s_axil_bready = 0;
  t->s_axil_araddr = 0;
  t->s_axil_arprot = 0;
  t->s_axil_arvalid = 0;
  t->s_axil_rready = 0;
  axil_active_ = false;
}

// --------------------------------------------------------------------------- the clock
// One cycle: settle combinational paths for the inputs driven after the last edge (clk=0 eval),
// sample the handshakes that happen at this edge, clock edge, then update the models and drive
// the next inputs. Two evals per cycle, no virtual calls, no per-cycle allocation.
inline void Harness::tick() {
  Vaccel_top* const t = top_;
  t->clk = 0;
  t->eval();
  const bool s_fire = t->s_axis_tvalid && t->s_axis_tready;
  const bool m_fire = t->m_axis_tvalid && t->m_axis_tready;
  if (m_fire) {
    port_to_bytes(t->m_axis_tdata, m_buf_);
    const uint64_t keep = keep_bits(t->m_axis_tkeep) & FULL_KEEP;
    if (keep == FULL_KEEP) {
      m_n_ = BEAT_BYTES;
    } else {  // pack the kept bytes (normally a contiguous low run on the last beat)
      unsigned n = 0;
      for (unsigned i = 0; i < BEAT_BYTES; ++i)
        if ((keep >> i) & 1) m_buf_[n++] = m_buf_[i];
      m_n_ = n;
    }
    m_last_ = t->m_axis_tlast;
  }
  if (axil_active_) {
    aw_fire_ = t->s_axil_awvalid && t->s_axil_awready;
    w_fire_ = t->s_axil_wvalid && t->s_axil_wready;
    b_fire_ = t->s_axil_bvalid && t->s_axil_bready;
    ar_fire_ = t->s_axil_arvalid && t->s_axil_arready;
    r_fire_ = t->s_axil_rvalid && t->s_axil_rready;
    if (b_fire_) axil_resp_ = t->s_axil_bresp;
    if (r_fire_) {
      axil_rdata_ = t->s_axil_rdata;
      axil_resp_ = t->s_axil_rresp;
    }
  }
  t->clk = 1;
  t->eval();
  ++cycle_;
  if (axil_active_) {
    if (aw_fire_) t->s_axil_awvalid = 0;
    if (w_fire_) t->s_axil_wvalid = 0;
    if (b_fire_) {
      t->s_axil_bready = 0;
      axil_done_ = true;
    }
    if (ar_fire_) t->s_axil_arvalid = 0;
    if (r_fire_) {
      t->s_axil_rready = 0;
      axil_done_ = true;
    }
  }
  if (s_fire) mm2s_fired();
  if (m_fire) s2mm_fired();
  if (mm2s_.busy) mm2s_cycle();
  if (s2mm_.busy) s2mm_cycle();
  drive();
}

void Harness::drive() {
  Vaccel_top* const t = top_;
  t->s_axis_tvalid = mm2s_.beat_valid && !mm2s_.f_stall && !accel_hang_;
  const DmaChannel& c = s2mm_;
  t->m_axis_tready = c.busy && !c.got_last && !c.f_stall && !accel_hang_ && c.pending_err == 0 &&
                     (c.strm_bytes - c.mem_bytes) + BEAT_BYTES <= S2MM_BUFFER_BYTES;
}

// --------------------------------------------------------------------------- MM2S
void Harness::load_beat(unsigned n) {
  DmaChannel& c = mm2s_;
  Vaccel_top* const t = top_;
  bytes_to_port(t->s_axis_tdata, ddr_ + c.offset + c.strm_bytes, n);
  t->s_axis_tkeep = n == BEAT_BYTES ? FULL_KEEP : (1ull << n) - 1;
  t->s_axis_tlast = (c.strm_bytes + n == c.len) && !c.no_tlast;
  c.beat_valid = true;
  c.beat_n = n;
}

void Harness::mm2s_fired() {
  DmaChannel& c = mm2s_;
  if (!c.beat_valid) return;
  c.strm_bytes += c.beat_n;
  c.beat_valid = false;
  last_progress_ = cycle_;
  ++beats_in_;
  if (c.strm_bytes == c.len) complete(c);
}

void Harness::mm2s_cycle() {
  DmaChannel& c = mm2s_;
  if (cycle_ < c.data_start) {  // memory latency: the first read data is on its way
    last_progress_ = cycle_;
    return;
  }
  if (c.pending_err) {
    raise_error(c, c.pending_err);
    return;
  }
  const uint64_t held = c.mem_bytes - c.strm_bytes;
  if (c.mem_bytes < c.len && held < MM2S_BUFFER_BYTES) {
    const uint64_t n = std::min<uint64_t>({SPEC_MEM_READ_BPC, c.len - c.mem_bytes, MM2S_BUFFER_BYTES - held});
    c.mem_bytes += n;
    last_progress_ = cycle_;
  }
  if (!c.beat_valid) {
    const unsigned need = unsigned(std::min<uint64_t>(BEAT_BYTES, c.len - c.strm_bytes));
    if (c.mem_bytes - c.strm_bytes >= need) load_beat(need);
  }
}

// --------------------------------------------------------------------------- S2MM
void Harness::s2mm_fired() {
  DmaChannel& c = s2mm_;
  ++beats_out_;
  last_progress_ = cycle_;
  unsigned n = m_n_;
  if (c.strm_bytes + n > c.len) {  // more data than LENGTH: the real core flags DMAIntErr
    const uint64_t fit = c.len - c.strm_bytes;
    std::memcpy(ddr_ + c.offset + c.strm_bytes, m_buf_, fit);
    c.strm_bytes += fit;
    c.received = uint32_t(c.strm_bytes);
    raise_error(c, DMASR_INTERR);
    return;
  }
  std::memcpy(ddr_ + c.offset + c.strm_bytes, m_buf_, n);
  c.strm_bytes += n;
  c.received = uint32_t(c.strm_bytes);
  if (m_last_) {
    if (c.f_drop_tlast)
      c.f_drop_tlast = false;  // fault: this TLAST is ignored, the transfer never completes
    else
      c.got_last = true;
  }
}

void Harness::s2mm_cycle() {
  DmaChannel& c = s2mm_;
  if (cycle_ < c.data_start) {  // write path not open yet (stream data is buffered meanwhile)
    last_progress_ = cycle_;
    return;
  }
  if (c.pending_err) {
    raise_error(c, c.pending_err);
    return;
  }
  if (c.mem_bytes < c.strm_bytes) {
    c.mem_bytes += std::min<uint64_t>(SPEC_MEM_WRITE_BPC, c.strm_bytes - c.mem_bytes);
    last_progress_ = cycle_;
  }
  if (c.got_last && c.mem_bytes == c.strm_bytes) complete(c);
}

// --------------------------------------------------------------------------- DMA control
void Harness::complete(DmaChannel& c) {
  ++transitions_;
  c.busy = false;
  c.idle = true;
  c.ioc_irq = true;
  c.beat_valid = false;
  ++c.n_transfers;
  c.n_bytes += c.strm_bytes;
  last_progress_ = cycle_;
}

void Harness::raise_error(DmaChannel& c, uint32_t bit) {
  // PG021: an error halts the channel gracefully: DMACR.RS cleared, DMASR.Halted set; the error bits
  // are only cleared by a reset.
  ++transitions_;
  if (bit == DMASR_INTERR) c.int_err = true;
  if (bit == DMASR_SLVERR) c.slv_err = true;
  if (bit == DMASR_DECERR) c.dec_err = true;
  c.err_irq = true;
  c.busy = false;
  c.idle = false;
  c.halt_at = cycle_ + HALT_DELAY_CYCLES;
  c.dmacr &= ~DMACR_RS;
  c.beat_valid = false;
  c.pending_err = 0;
  ++c.n_errors;
  c.n_bytes += c.strm_bytes;
  last_progress_ = cycle_;
}

void Harness::dma_reset() {
  // DMACR.Reset (either channel) resets the whole core: registers, in-flight transfers and faults.
  mm2s_.reset_registers();
  s2mm_.reset_registers();
  last_progress_ = cycle_;
}

void Harness::start_transfer(DmaChannel& c, bool is_mm2s) {
  c.busy = true;
  c.idle = false;
  c.len = c.length;
  c.received = 0;
  c.mem_bytes = c.strm_bytes = 0;
  c.got_last = false;
  c.beat_valid = false;
  c.data_start = cycle_ + SPEC_MEM_LATENCY;
  const uint64_t addr = ((uint64_t(c.addr_hi) << 32) | c.addr_lo) & ADDR_MASK;
  c.pending_err = 0;
  if (c.f_slverr) {
    c.pending_err = DMASR_SLVERR;
    c.f_slverr = false;
  } else if (c.f_decerr) {
    c.pending_err = DMASR_DECERR;
    c.f_decerr = false;
  } else if (addr < SPEC_DDR_BASE || addr - SPEC_DDR_BASE > SPEC_DDR_SIZE ||
             c.len > SPEC_DDR_SIZE - (addr - SPEC_DDR_BASE)) {
    c.pending_err = DMASR_DECERR;  // nothing answers there: the interconnect returns DECERR
  }
  c.offset = c.pending_err ? 0 : addr - SPEC_DDR_BASE;
  if (is_mm2s) {
    c.no_tlast = c.f_drop_tlast;
    c.f_drop_tlast = false;
  }
  last_progress_ = cycle_;
}

uint32_t Harness::dma_read(uint32_t off) {
  const bool s2mm = off >= DMA_S2MM_OFFSET && off < 2 * DMA_S2MM_OFFSET;
  DmaChannel& c = s2mm ? s2mm_ : mm2s_;
  const uint32_t reg = s2mm ? off - DMA_S2MM_OFFSET : off;
  c.settle(cycle_);
  switch (reg) {
    case DMA_DMACR:
      return c.dmacr;
    case DMA_DMASR:
      return c.dmasr();
    case DMA_ADDR:
      return c.addr_lo;
    case DMA_ADDR_MSB:
      return SPEC_DMA_ADDR_WIDTH > 32 ? c.addr_hi : 0;
    case DMA_LENGTH:
      // S2MM: bytes actually received once the transfer has ended (PG021); MM2S: as programmed.
      return (s2mm && !c.busy) ? c.received : c.length;
    default:
      return 0;
  }
}

void Harness::dma_write(uint32_t off, uint32_t v) {
  const bool s2mm = off >= DMA_S2MM_OFFSET && off < 2 * DMA_S2MM_OFFSET;
  DmaChannel& c = s2mm ? s2mm_ : mm2s_;
  const uint32_t reg = s2mm ? off - DMA_S2MM_OFFSET : off;
  c.settle(cycle_);
  switch (reg) {
    case DMA_DMACR:
      if (v & DMACR_RESET) {
        dma_reset();
        return;
      }
      c.dmacr = v & DMACR_WRITABLE;
      if (v & DMACR_RS) {
        if (c.halted && !c.any_error()) {  // an errored channel stays halted until reset
          c.halted = false;
          c.idle = false;  // not idle until a transfer has completed (PYNQ's _first_transfer)
        } else if (c.any_error()) {
          c.dmacr &= ~DMACR_RS;
        }
      } else if (!c.halted && !c.halt_at) {  // stop: abort whatever is in flight
        c.busy = false;
        c.beat_valid = false;
        c.halted = true;
        c.idle = false;
        last_progress_ = cycle_;
      }
      return;
    case DMA_DMASR:
      if (v & DMASR_IOC_IRQ) c.ioc_irq = false;
      if (v & DMASR_DLY_IRQ) c.dly_irq = false;
      if (v & DMASR_ERR_IRQ) c.err_irq = false;
      return;
    case DMA_ADDR:
      c.addr_lo = v;
      return;
    case DMA_ADDR_MSB:
      if (SPEC_DMA_ADDR_WIDTH > 32) c.addr_hi = v;
      return;
    case DMA_LENGTH:
      c.length = uint32_t(v & LENGTH_MASK);
      if (c.halted || c.busy || c.any_error()) return;  // ignored unless running and idle
      if (c.length == 0) {
        raise_error(c, DMASR_INTERR);  // PG021: a zero LENGTH is an internal error
        return;
      }
      start_transfer(c, !s2mm);
      return;
    default:
      return;
  }
}

void Harness::poll(DmaChannel& c) {
  ++polls_;
  const uint64_t start = cycle_;
  // Stop at the first completion or error of EITHER channel: the host then re-arms whichever
  // channel finished, as a polling CPU on the board would, instead of idling the other one.
  const uint64_t seen = transitions_;
  while (c.busy && transitions_ == seen) {
    tick();
    if (cycle_ - last_progress_ >= deadlock_window_) {
      if (deadlock_seen_ != last_progress_) {
        deadlock_seen_ = last_progress_;
        ++deadlocks_;
      }
      break;
    }
    if (cycle_ - start >= poll_budget_) {
      ++budget_stops_;
      break;
    }
  }
  poll_cycles_ += cycle_ - start;
}

// --------------------------------------------------------------------------- AXI-Lite master
int Harness::axil(bool write, uint32_t off, uint32_t wdata, uint32_t* rdata) {
  Vaccel_top* const t = top_;
  const uint64_t start = cycle_;
  axil_done_ = false;
  axil_resp_ = 0;
  if (write) {
    t->s_axil_awaddr = off;
    t->s_axil_awvalid = 1;
    t->s_axil_wdata = wdata;
    t->s_axil_wstrb = 0xF;
    t->s_axil_wvalid = 1;
    t->s_axil_bready = 1;
  } else {
    t->s_axil_araddr = off;
    t->s_axil_arvalid = 1;
    t->s_axil_rready = 1;
  }
  axil_active_ = true;
  while (!axil_done_) {
    tick();
    if (cycle_ - start > AXIL_TIMEOUT_CYCLES) {
      axil_idle_signals();
      return SIM_EAXIL_TIMEOUT;
    }
  }
  axil_idle_signals();
  if (rdata) *rdata = axil_rdata_;
  // The whole PS round trip costs SPEC_MMIO_CYCLES fabric cycles (at least the handshake itself).
  while (cycle_ - start < SPEC_MMIO_CYCLES) tick();
  return axil_resp_ ? SIM_EAXIL_RESP : SIM_OK;
}

// --------------------------------------------------------------------------- public API
static inline bool in_window(uint64_t addr, uint64_t base, uint64_t range) {
  return addr >= base && addr - base < range;
}

int Harness::read32(uint64_t addr, uint32_t* value) {
  if (addr & 3) return SIM_EALIGN;
  WallTimer timer(*this);
  ++mmio_reads_;
  if (in_window(addr, SPEC_DMA_BASE, SPEC_DMA_RANGE)) {
    const uint32_t off = uint32_t(addr - SPEC_DMA_BASE);
    hold(SPEC_MMIO_CYCLES);
    if (off == DMA_DMASR && mm2s_.busy) poll(mm2s_);
    if (off == DMA_S2MM_OFFSET + DMA_DMASR && s2mm_.busy) poll(s2mm_);
    *value = dma_read(off);
    return SIM_OK;
  }
  if (in_window(addr, SPEC_ACCEL_BASE, SPEC_ACCEL_RANGE))
    return axil(false, uint32_t((addr - SPEC_ACCEL_BASE) & AXIL_MASK), 0, value);
  --mmio_reads_;
  return SIM_EADDR;
}

int Harness::write32(uint64_t addr, uint32_t value) {
  if (addr & 3) return SIM_EALIGN;
  WallTimer timer(*this);
  ++mmio_writes_;
  if (in_window(addr, SPEC_DMA_BASE, SPEC_DMA_RANGE)) {
    hold(SPEC_MMIO_CYCLES);
    dma_write(uint32_t(addr - SPEC_DMA_BASE), value);
    drive();
    return SIM_OK;
  }
  if (in_window(addr, SPEC_ACCEL_BASE, SPEC_ACCEL_RANGE)) {
    const uint32_t off = uint32_t((addr - SPEC_ACCEL_BASE) & AXIL_MASK);
    const int rc = axil(true, off, value, nullptr);
    if (off == ACCEL_REG_CTRL && ((value >> ACCEL_CTRL_SOFT_RESET_BIT) & 1)) {
      accel_hang_ = false;  // CTRL.SOFT_RESET clears the accel_hang fault
      last_progress_ = cycle_;
      drive();
    }
    return rc;
  }
  --mmio_writes_;
  return SIM_EADDR;
}

void Harness::run(uint64_t n) {
  WallTimer timer(*this);
  hold(n);
}

int Harness::inject(int fault, int channel) {
  DmaChannel* c = channel == CH_MM2S ? &mm2s_ : channel == CH_S2MM ? &s2mm_ : nullptr;
  switch (fault) {
    case FAULT_DMA_SLVERR:
      if (!c) return SIM_EARG;
      c->f_slverr = true;
      break;
    case FAULT_DMA_DECERR:
      if (!c) return SIM_EARG;
      c->f_decerr = true;
      break;
    case FAULT_MM2S_STALL:
      mm2s_.f_stall = true;
      break;
    case FAULT_S2MM_STALL:
      s2mm_.f_stall = true;
      break;
    case FAULT_DROP_TLAST:
      if (!c) return SIM_EARG;
      c->f_drop_tlast = true;
      break;
    case FAULT_ACCEL_HANG:
      accel_hang_ = true;
      break;
    default:
      return SIM_EARG;
  }
  drive();
  return SIM_OK;
}

void Harness::reset() {
  WallTimer timer(*this);
  dma_reset();
  accel_hang_ = false;
  axil_idle_signals();
  top_->rst = 1;
  drive();
  hold(RESET_CYCLES);
  top_->rst = 0;
  tick();
  last_progress_ = cycle_;
}

void Harness::configure(uint64_t deadlock_window, uint64_t poll_budget) {
  if (deadlock_window) deadlock_window_ = deadlock_window;
  if (poll_budget) poll_budget_ = poll_budget;
}

// Keep in step with sim_stat_names().
int Harness::stats(uint64_t* out, int n) const {
  const uint64_t v[] = {
      cycle_,         sim_ns_,          cpu_ns_,          mmio_reads_,         mmio_writes_,        polls_,
      poll_cycles_,   deadlocks_,       budget_stops_,       cycle_ - last_progress_,
      mm2s_.n_transfers, mm2s_.n_bytes, mm2s_.n_errors,      s2mm_.n_transfers,   s2mm_.n_bytes,
      s2mm_.n_errors, beats_in_,        beats_out_,          deadlock_window_,    poll_budget_,
  };
  const int count = int(sizeof(v) / sizeof(v[0]));
  const int m = std::min(n, count);
  for (int i = 0; i < m; ++i) out[i] = v[i];
  return m;
}

uint32_t Harness::irq_lines() const {
  return (mm2s_.introut() ? 1u << IRQ_MM2S_INTROUT_BIT : 0u) | (s2mm_.introut() ? 1u << IRQ_S2MM_INTROUT_BIT : 0u) |
         (top_->irq ? 1u << IRQ_ACCEL_IRQ_BIT : 0u);
}

}  // namespace accelsim

// ============================================================================ extern "C" ABI
using accelsim::Harness;

#define SIM_API extern "C" __attribute__((visibility("default")))

SIM_API const char* sim_abi(void) {
  // "accelsim <abi version> <spec hash32> <data width>": checked by sim.py after dlopen.
  static const std::string s = "accelsim " + std::to_string(accelsim::SIM_ABI_VERSION) + " " +
                               std::to_string(SPEC_HASH32) + " " + std::to_string(SPEC_DATA_WIDTH);
  return s.c_str();
}

SIM_API const char* sim_stat_names(void) {
  return "cycles,sim_ns,cpu_ns,mmio_reads,mmio_writes,polls,poll_cycles,deadlocks,budget_stops,cycles_since_progress,"
         "mm2s_transfers,mm2s_bytes,mm2s_errors,s2mm_transfers,s2mm_bytes,s2mm_errors,beats_in,beats_out,"
         "deadlock_window,poll_budget";
}

SIM_API void* sim_create(const char* shm_path, char* err, int errlen) {
  try {
    return new Harness(shm_path);
  } catch (const std::exception& e) {
    if (err && errlen > 0) {
      std::strncpy(err, e.what(), size_t(errlen) - 1);
      err[errlen - 1] = 0;
    }
    return nullptr;
  }
}

SIM_API void sim_destroy(void* h) { delete static_cast<Harness*>(h); }

SIM_API int sim_read32(void* h, uint64_t addr, uint32_t* value) {
  auto* s = static_cast<Harness*>(h);
  std::lock_guard<std::mutex> lock(s->mutex);
  return s->read32(addr, value);
}

SIM_API int sim_write32(void* h, uint64_t addr, uint32_t value) {
  auto* s = static_cast<Harness*>(h);
  std::lock_guard<std::mutex> lock(s->mutex);
  return s->write32(addr, value);
}

SIM_API void sim_run(void* h, uint64_t cycles) {
  auto* s = static_cast<Harness*>(h);
  std::lock_guard<std::mutex> lock(s->mutex);
  s->run(cycles);
}

SIM_API uint64_t sim_cycles(void* h) {
  auto* s = static_cast<Harness*>(h);
  std::lock_guard<std::mutex> lock(s->mutex);
  return s->cycles();
}

SIM_API int sim_inject(void* h, int fault, int channel) {
  auto* s = static_cast<Harness*>(h);
  std::lock_guard<std::mutex> lock(s->mutex);
  return s->inject(fault, channel);
}

SIM_API void sim_reset(void* h) {
  auto* s = static_cast<Harness*>(h);
  std::lock_guard<std::mutex> lock(s->mutex);
  s->reset();
}

SIM_API void sim_configure(void* h, uint64_t deadlock_window, uint64_t poll_budget) {
  auto* s = static_cast<Harness*>(h);
  std::lock_guard<std::mutex> lock(s->mutex);
  s->configure(deadlock_window, poll_budget);
}

SIM_API int sim_stats(void* h, uint64_t* out, int n) {
  auto* s = static_cast<Harness*>(h);
  std::lock_guard<std::mutex> lock(s->mutex);
  return s->stats(out, n);
}

SIM_API uint32_t sim_irq(void* h) {
  auto* s = static_cast<Harness*>(h);
  std::lock_guard<std::mutex> lock(s->mutex);
  return s->irq_lines();
}
