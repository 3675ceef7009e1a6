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
  eof = true;
  beat_n = 0;
  f_slverr = f_decerr = f_stall = f_drop_tlast = false;
  curdesc_lo = curdesc_hi = taildesc_lo = taildesc_hi = 0;
  taildesc = 0;
  sg_int_err = sg_slv_err = sg_dec_err = false;
  from_curdesc = true;
  fetching = false;
  fetch_addr = fetch_free = 0;
  q_head = q_n = 0;
  have_desc = false;
  mem_done_at = 0;
  in_packet = false;
  irq_left = std::max<uint32_t>(1, (dmacr >> SPEC_DMACR_IRQTHRESHOLD_LSB) & DMACR_IRQTHRESHOLD_MASK);
  carry_n = 0;
  carry_last = false;
  f_sg_fetch = f_sg_pointer = f_sg_reused = false;
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
  if (rd_steal_) --rd_steal_;  // scatter-gather: the port beats of descriptor fetches / write-backs
  if (wr_steal_) --wr_steal_;
  drive();
}

void Harness::drive() {
  Vaccel_top* const t = top_;
  t->s_axis_tvalid = mm2s_.beat_valid && !mm2s_.f_stall && !accel_hang_;
  const DmaChannel& c = s2mm_;
  if (DMA_SG) {  // a descriptor with room must be in hand (stream data waits for descriptor fetches)
    t->m_axis_tready = c.busy && c.have_desc && !c.got_last && c.carry_n == 0 && c.strm_bytes < c.len &&
                       !c.f_stall && !accel_hang_ && c.pending_err == 0 &&
                       (c.strm_bytes - c.mem_bytes) + BEAT_BYTES <= S2MM_BUFFER_BYTES;
    return;
  }
  t->m_axis_tready = c.busy && !c.got_last && !c.f_stall && !accel_hang_ && c.pending_err == 0 &&
                     (c.strm_bytes - c.mem_bytes) + BEAT_BYTES <= S2MM_BUFFER_BYTES;
}

// --------------------------------------------------------------------------- MM2S
void Harness::load_beat(unsigned n) {
  DmaChannel& c = mm2s_;
  Vaccel_top* const t = top_;
  bytes_to_port(t->s_axis_tdata, ddr_ + c.offset + c.strm_bytes, n);
  t->s_axis_tkeep = n == BEAT_BYTES ? FULL_KEEP : (1ull << n) - 1;
  t->s_axis_tlast = (c.strm_bytes + n == c.len) && c.eof && !c.no_tlast;
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
  if (c.strm_bytes != c.len) return;
  if (DMA_SG)
    sg_complete(c, true);
  else
    complete(c);
}

void Harness::mm2s_cycle() {
  DmaChannel& c = mm2s_;
  if (DMA_SG) {  // the data mover runs once the current descriptor has been fetched
    sg_fetch(c);
    if (!c.busy || !sg_pickup(c, true)) {
      if (c.busy) last_progress_ = cycle_;  // waiting for a descriptor fetch
      return;
    }
  }
  if (cycle_ < c.data_start) {  // memory latency: the first read data is on its way
    last_progress_ = cycle_;
    return;
  }
  if (c.pending_err) {
    raise_error(c, c.pending_err);
    return;
  }
  const uint64_t held = c.mem_bytes - c.strm_bytes;
  // rd_steal_: read-port beats owed to descriptor fetches (scatter-gather only; always 0 otherwise)
  if (rd_steal_ == 0 && c.mem_bytes < c.len && held < MM2S_BUFFER_BYTES) {
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
  if (DMA_SG) {
    sg_s2mm_fired();
    return;
  }
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
  if (DMA_SG) {
    sg_s2mm_cycle();
    return;
  }
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
  if (bit == DMASR_SGINTERR) c.sg_int_err = true;
  if (bit == DMASR_SGSLVERR) c.sg_slv_err = true;
  if (bit == DMASR_SGDECERR) c.sg_dec_err = true;
  if (DMA_SG && c.have_desc && (bit == DMASR_INTERR || bit == DMASR_SLVERR || bit == DMASR_DECERR)) {
    // PG021: the descriptor being moved is updated with the error (and no Cmplt)
    const uint32_t sts = bit == DMASR_INTERR ? DESC_INTERR : bit == DMASR_SLVERR ? DESC_SLVERR : DESC_DECERR;
    wr32(c.cur.addr + 4 * SPEC_DESC_W_STATUS, sts | uint32_t(c.strm_bytes & LENGTH_MASK));
  }
  c.fetching = false;
  c.have_desc = false;
  c.q_n = 0;
  c.carry_n = 0;
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
  rd_steal_ = wr_steal_ = 0;
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
      if (DMA_SG) return 0;  // no direct-mode registers in scatter-gather mode
      // S2MM: bytes actually received once the transfer has ended (PG021); MM2S: as programmed.
      return (s2mm && !c.busy) ? c.received : c.length;
    case DMA_CURDESC:
      return DMA_SG ? c.curdesc_lo : 0;
    case DMA_CURDESC_MSB:
      return DMA_SG && SPEC_DMA_ADDR_WIDTH > 32 ? c.curdesc_hi : 0;
    case DMA_TAILDESC:
      return DMA_SG ? c.taildesc_lo : 0;
    case DMA_TAILDESC_MSB:
      return DMA_SG && SPEC_DMA_ADDR_WIDTH > 32 ? c.taildesc_hi : 0;
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
      if (((v ^ c.dmacr) >> SPEC_DMACR_IRQTHRESHOLD_LSB) & DMACR_IRQTHRESHOLD_MASK)  // new threshold: recount
        c.irq_left = std::max<uint32_t>(1, (v >> SPEC_DMACR_IRQTHRESHOLD_LSB) & DMACR_IRQTHRESHOLD_MASK);
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
        c.fetching = c.have_desc = false;
        c.q_n = c.carry_n = 0;
        c.from_curdesc = true;
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
    case DMA_CURDESC:  // PG021: writable only while the channel is halted
      if (DMA_SG && c.halted) {
        c.curdesc_lo = uint32_t(v & DESC_ALIGN_MASK);
        c.from_curdesc = true;
      }
      return;
    case DMA_CURDESC_MSB:
      if (DMA_SG && c.halted && SPEC_DMA_ADDR_WIDTH > 32) c.curdesc_hi = v;
      return;
    case DMA_TAILDESC_MSB:
      if (DMA_SG && SPEC_DMA_ADDR_WIDTH > 32) c.taildesc_hi = v;
      return;
    case DMA_TAILDESC:
      if (!DMA_SG) return;
      c.taildesc_lo = uint32_t(v & DESC_ALIGN_MASK);
      c.taildesc = ((uint64_t(c.taildesc_hi) << 32) | c.taildesc_lo) & ADDR_MASK;
      if (!c.halted && (c.dmacr & DMACR_RS) && !c.any_error()) sg_tail_written(c);
      return;
    case DMA_ADDR:
      if (!DMA_SG) c.addr_lo = v;
      return;
    case DMA_ADDR_MSB:
      if (!DMA_SG && SPEC_DMA_ADDR_WIDTH > 32) c.addr_hi = v;
      return;
    case DMA_LENGTH:
      if (DMA_SG) return;  // no direct-mode transfers in scatter-gather mode
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

// --------------------------------------------------------------------------- scatter-gather (PG021)
// The SG engine fetches descriptors (each a DESC_BYTES read on the read port, after the memory latency)
// up to SG_QUEUE ahead of the data mover; the mover moves one descriptor's buffer at a time, its reads
// (MM2S) or writes (S2MM) issued as soon as the descriptor is in hand and the previous buffer's memory
// side is done, so back-to-back descriptors pay the latency only when the pipe ran dry. A completed
// descriptor gets its STATUS written back (Cmplt, bytes, RXSOF/RXEOF) on the write port. The channel
// goes idle when the descriptor at TAILDESC completes; a later TAILDESC write resumes after it.
uint32_t Harness::rd32(uint64_t addr) const {
  uint32_t v = 0;
  std::memcpy(&v, ddr_ + (addr - SPEC_DDR_BASE), 4);
  return v;
}

void Harness::wr32(uint64_t addr, uint32_t v) {
  if (in_ddr(addr, 4)) std::memcpy(ddr_ + (addr - SPEC_DDR_BASE), &v, 4);
}

void Harness::sg_tail_written(DmaChannel& c) {
  if (c.busy) {  // running: the fetcher continues up to the new tail
    if (!c.fetching) c.fetching = true;
    return;
  }
  if (c.from_curdesc) c.fetch_addr = ((uint64_t(c.curdesc_hi) << 32) | c.curdesc_lo) & ADDR_MASK;
  c.from_curdesc = false;
  c.busy = true;
  c.idle = false;
  c.fetching = true;
  c.fetch_free = cycle_;
  c.q_head = c.q_n = 0;
  c.have_desc = false;
  c.mem_done_at = 0;
  c.beat_valid = false;
  c.got_last = false;
  c.in_packet = false;
  last_progress_ = cycle_;
}

void Harness::sg_fetch(DmaChannel& c) {
  if (!c.fetching || c.q_n >= SG_QUEUE || cycle_ < c.fetch_free) return;
  const uint64_t addr = c.fetch_addr;
  ++desc_fetches_;
  rd_steal_ += DESC_FETCH_BEATS;
  c.fetch_free = cycle_ + DESC_FETCH_BEATS;
  last_progress_ = cycle_;
  if (c.f_sg_fetch) {
    c.f_sg_fetch = false;
    raise_error(c, DMASR_SGSLVERR);
    return;
  }
  if (c.f_sg_pointer || !in_ddr(addr, DESC_BYTES)) {
    c.f_sg_pointer = false;
    raise_error(c, DMASR_SGDECERR);  // nothing answers there: the interconnect returns DECERR
    return;
  }
  const uint32_t status = rd32(addr + 4 * SPEC_DESC_W_STATUS);
  if ((status & DESC_CMPLT) || c.f_sg_reused) {
    c.f_sg_reused = false;
    raise_error(c, DMASR_SGINTERR);  // PG021: a fetched descriptor must not have Cmplt set
    return;
  }
  Desc& d = c.queue[(c.q_head + c.q_n) % SG_QUEUE];
  d.addr = addr;
  d.next = ((uint64_t(rd32(addr + 4 * SPEC_DESC_W_NXTDESC_MSB)) << 32) | rd32(addr + 4 * SPEC_DESC_W_NXTDESC)) &
           ADDR_MASK & DESC_ALIGN_MASK;
  if (SPEC_DMA_ADDR_WIDTH <= 32) d.next &= 0xFFFFFFFFull;
  d.buf = ((uint64_t(rd32(addr + 4 * SPEC_DESC_W_BUFFER_ADDRESS_MSB)) << 32) |
           rd32(addr + 4 * SPEC_DESC_W_BUFFER_ADDRESS)) & ADDR_MASK;
  if (SPEC_DMA_ADDR_WIDTH <= 32) d.buf &= 0xFFFFFFFFull;
  d.control = rd32(addr + 4 * SPEC_DESC_W_CONTROL);
  d.ready = cycle_ + SPEC_MEM_LATENCY + DESC_FETCH_BEATS;
  ++c.q_n;
  if (addr == c.taildesc)
    c.fetching = false;
  c.fetch_addr = d.next;
}

bool Harness::sg_pickup(DmaChannel& c, bool is_mm2s) {
  if (c.have_desc) return true;
  if (c.q_n == 0 || c.queue[c.q_head].ready > cycle_) return false;
  c.cur = c.queue[c.q_head];
  c.q_head = (c.q_head + 1) % SG_QUEUE;
  --c.q_n;
  c.have_desc = true;
  c.len = c.cur.control & LENGTH_MASK;
  c.mem_bytes = c.strm_bytes = 0;
  c.got_last = false;
  c.beat_valid = false;
  c.eof = is_mm2s ? (c.cur.control & DESC_EOF) != 0 : true;
  // Reads (MM2S) are issued once the descriptor is in hand and the previous buffer's reads are issued;
  // the write path (S2MM) opens once the previous descriptor has completed.
  const uint64_t issue = std::max(c.cur.ready, c.mem_done_at);
  c.data_start = issue + SPEC_MEM_LATENCY;
  if (is_mm2s) c.mem_done_at = issue + (c.len + SPEC_MEM_READ_BPC - 1) / SPEC_MEM_READ_BPC;
  c.pending_err = 0;
  if (c.f_slverr) {
    c.pending_err = DMASR_SLVERR;
    c.f_slverr = false;
  } else if (c.f_decerr) {
    c.pending_err = DMASR_DECERR;
    c.f_decerr = false;
  } else if (c.len == 0) {
    c.pending_err = DMASR_INTERR;  // PG021: a zero buffer length is an internal error
  } else if (!in_ddr(c.cur.buf, c.len)) {
    c.pending_err = DMASR_DECERR;
  }
  c.offset = c.pending_err ? 0 : c.cur.buf - SPEC_DDR_BASE;
  if (is_mm2s) {
    if (c.eof) {
      c.no_tlast = c.f_drop_tlast;
      c.f_drop_tlast = false;
    } else {
      c.no_tlast = false;
    }
    if (!c.pending_err && c.data_start < cycle_)  // reads issued earlier have already returned data
      c.mem_bytes = std::min<uint64_t>({c.len, (cycle_ - c.data_start) * SPEC_MEM_READ_BPC, MM2S_BUFFER_BYTES});
  } else if (c.carry_n && !c.pending_err) {  // the rest of a beat that overflowed the previous descriptor
    const unsigned n = unsigned(std::min<uint64_t>(c.carry_n, c.len));
    std::memcpy(ddr_ + c.offset, c.carry, n);
    c.strm_bytes = n;
    std::memmove(c.carry, c.carry + n, c.carry_n - n);
    c.carry_n -= n;
    if (c.carry_n == 0 && c.carry_last) {
      c.got_last = true;
      c.carry_last = false;
    }
  }
  last_progress_ = cycle_;
  return true;
}

void Harness::sg_complete(DmaChannel& c, bool is_mm2s) {
  uint32_t sts = DESC_CMPLT | uint32_t(c.strm_bytes & LENGTH_MASK);
  bool packet_end = false;
  if (is_mm2s) {
    packet_end = c.eof;
  } else {
    if (!c.in_packet) sts |= DESC_RXSOF;
    packet_end = c.got_last;
    if (packet_end) sts |= DESC_RXEOF;
    c.in_packet = !packet_end;
  }
  wr32(c.cur.addr + 4 * SPEC_DESC_W_STATUS, sts);
  ++desc_updates_;
  wr_steal_ += DESC_UPDATE_BEATS;
  ++c.n_desc;
  c.n_bytes += c.strm_bytes;
  c.have_desc = false;
  c.beat_valid = false;
  c.got_last = false;
  if (!is_mm2s) c.mem_done_at = cycle_;
  last_progress_ = cycle_;
  if (packet_end) {
    ++c.n_transfers;
    if (--c.irq_left == 0) {
      c.ioc_irq = true;
      c.irq_left = std::max<uint32_t>(1, (c.dmacr >> SPEC_DMACR_IRQTHRESHOLD_LSB) & DMACR_IRQTHRESHOLD_MASK);
    }
  }
  if (c.cur.addr == c.taildesc && c.q_n == 0 && !c.fetching) {  // the chain reached TAILDESC
    ++transitions_;
    c.busy = false;
    c.idle = true;
  }
}

void Harness::sg_s2mm_fired() {
  DmaChannel& c = s2mm_;
  ++beats_out_;
  last_progress_ = cycle_;
  if (!c.have_desc) return;  // cannot happen: TREADY needs a descriptor
  const unsigned n = m_n_;
  const uint64_t room = c.len - c.strm_bytes;
  const unsigned fit = unsigned(std::min<uint64_t>(n, room));
  std::memcpy(ddr_ + c.offset + c.strm_bytes, m_buf_, fit);
  c.strm_bytes += fit;
  bool last = m_last_;
  if (last && c.f_drop_tlast) {
    c.f_drop_tlast = false;  // fault: this TLAST is ignored
    last = false;
  }
  if (fit < n) {  // the packet continues in the next descriptor
    std::memcpy(c.carry, m_buf_ + fit, n - fit);
    c.carry_n = n - fit;
    c.carry_last = last;
  } else if (last) {
    c.got_last = true;
  }
}

void Harness::sg_s2mm_cycle() {
  DmaChannel& c = s2mm_;
  sg_fetch(c);
  if (!c.busy || !sg_pickup(c, false)) {
    if (c.busy) last_progress_ = cycle_;
    return;
  }
  if (cycle_ < c.data_start) {
    last_progress_ = cycle_;
    return;
  }
  if (c.pending_err) {
    raise_error(c, c.pending_err);
    return;
  }
  if (wr_steal_ == 0 && c.mem_bytes < c.strm_bytes) {  // else: the port writes back a descriptor STATUS
    c.mem_bytes += std::min<uint64_t>(SPEC_MEM_WRITE_BPC, c.strm_bytes - c.mem_bytes);
    last_progress_ = cycle_;
  }
  if ((c.got_last || c.strm_bytes == c.len) && c.mem_bytes == c.strm_bytes) sg_complete(c, false);
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
    case FAULT_SG_FETCH_ERROR:
      if (!c) return SIM_EARG;
      c->f_sg_fetch = true;
      break;
    case FAULT_SG_BAD_POINTER:
      if (!c) return SIM_EARG;
      c->f_sg_pointer = true;
      break;
    case FAULT_SG_REUSED:
      if (!c) return SIM_EARG;
      c->f_sg_reused = true;
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
      mm2s_.n_desc,   s2mm_.n_desc,     desc_fetches_,       desc_updates_,
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
  // "accelsim <abi version> <spec hash32> <data width> <dma mode>": checked by sim.py after dlopen.
  // "... <dma mode>": sg or simple (the spec hash is the same for both builds of one configuration).
  static const std::string s = "accelsim " + std::to_string(accelsim::SIM_ABI_VERSION) + " " +
                               std::to_string(SPEC_HASH32) + " " + std::to_string(SPEC_DATA_WIDTH) + " " +
                               (accelsim::DMA_SG ? "sg" : "simple");
  return s.c_str();
}

SIM_API const char* sim_stat_names(void) {
  return "cycles,sim_ns,cpu_ns,mmio_reads,mmio_writes,polls,poll_cycles,deadlocks,budget_stops,cycles_since_progress,"
         "mm2s_transfers,mm2s_bytes,mm2s_errors,s2mm_transfers,s2mm_bytes,s2mm_errors,beats_in,beats_out,"
         "deadlock_window,poll_budget,mm2s_descriptors,s2mm_descriptors,desc_fetches,desc_updates";
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
