// DummyPort: injected frames in, transmitted frames kept and captured.
#include "datapath/dummy_port.h"

#include <cctype>
#include <functional>

namespace spate::datapath {
namespace {

constexpr int kMaxDummyQueues = 64;

MacAddress MacFromName(const std::string& name) {
  size_t h = std::hash<std::string>{}(name);
  MacAddress mac;
  mac.bytes[0] = 0xaa;  // Locally administered, unicast.
  mac.bytes[1] = 0x55;
  for (int i = 0; i < 4; i++) mac.bytes[2 + i] = static_cast<uint8_t>(h >> (8 * i));
  return mac;
}

Result<std::shared_ptr<PcapWriter>> OpenCapture(const std::string& path) {
  if (path.empty()) return std::shared_ptr<PcapWriter>();
  Result<std::unique_ptr<PcapWriter>> w = PcapWriter::Open(path);
  if (!w.ok()) return w.error();
  return std::shared_ptr<PcapWriter>(std::move(*w));
}

}  // namespace

DummyPort::DummyPort(const DummyPortConfig& c)
    : name_(c.name),
      n_txq_(c.n_txq),
      pool_(c.pool),
      mac_(c.mac == MacAddress{} ? MacFromName(c.name) : c.mac),
      mtu_(c.mtu),
      max_kept_tx_(c.max_kept_tx),
      max_queued_rx_(c.max_queued_rx) {
  for (int q = 0; q < c.n_rxq; q++) rxqs_.push_back(std::make_unique<RxQueue>());
}

Result<std::unique_ptr<DummyPort>> DummyPort::Create(const DummyPortConfig& c) {
  std::string what = "interface \"" + c.name + "\"";
  if (c.n_rxq < 1 || c.n_rxq > kMaxDummyQueues || c.n_txq < 1 ||
      c.n_txq > kMaxDummyQueues) {
    return Error("port", what + ": n_rxq and n_txq must be 1.." +
                             std::to_string(kMaxDummyQueues));
  }
  if (c.pool == nullptr) return Error("port", what + ": no packet pool");
  if (c.mtu < 68 || c.mtu > 65535) {
    return Error("port", what + ": MTU must be 68..65535");
  }
  std::unique_ptr<DummyPort> port(new DummyPort(c));
  std::string rx_path = c.pcap.empty() ? c.rxq_pcap : c.pcap;
  std::string tx_path = c.pcap.empty() ? c.tx_pcap : c.pcap;
  Result<std::shared_ptr<PcapWriter>> rx = OpenCapture(rx_path);
  if (!rx.ok()) return Error("port", what + ": " + rx.error().details());
  port->rx_capture_ = *rx;
  if (!c.pcap.empty()) {
    port->tx_capture_ = port->rx_capture_;
  } else {
    Result<std::shared_ptr<PcapWriter>> tx = OpenCapture(tx_path);
    if (!tx.ok()) return Error("port", what + ": " + tx.error().details());
    port->tx_capture_ = *tx;
  }
  if (!c.rx_pcap.empty()) {
    auto frames = ReadPcapFile(c.rx_pcap);
    if (!frames.ok()) {
      return Error("port", what + ": rx_pcap: " + frames.error().details());
    }
    for (const std::vector<uint8_t>& f : *frames) {
      if (Status s = port->Receive(f, 0); !s.ok()) {
        return Error("port", what + ": rx_pcap " + c.rx_pcap + ": " +
                                 s.error().details());
      }
    }
  }
  return port;
}

DummyPort::~DummyPort() = default;

Status DummyPort::Receive(std::span<const uint8_t> frame, int qid) {
  if (qid < 0 || qid >= n_rxq()) {
    return Error("port", "interface \"" + name_ + "\" has no receive queue " +
                             std::to_string(qid));
  }
  if (frame.empty() || frame.size() > pool_->data_room_bytes()) {
    return Error("port", "frame of " + std::to_string(frame.size()) +
                             " bytes: must be 1.." +
                             std::to_string(pool_->data_room_bytes()) +
                             " bytes (one packet buffer)");
  }
  RxWaker* waker = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    RxQueue& q = *rxqs_[qid];
    if (q.frames.size() >= max_queued_rx_) {
      stats_.rx_dropped++;
      return Error("port", "interface \"" + name_ + "\": receive queue " +
                               std::to_string(qid) + " is full");
    }
    q.frames.emplace_back(frame.begin(), frame.end());
    q.n_frames.store(q.frames.size(), std::memory_order_release);
    if (rx_capture_ != nullptr) (void)rx_capture_->Write(frame);
    waker = q.waker;
    if (waker != nullptr) waker->Wake();  // Under the lock: see SetRxWaker.
  }
  return Status::Ok();
}

uint32_t DummyPort::RxBurst(int qid, PacketBatch* batch) {
  batch->n_pkts = 0;
  RxQueue& q = *rxqs_[qid];
  if (q.n_frames.load(std::memory_order_acquire) == 0) return 0;
  std::lock_guard<std::mutex> lock(mutex_);
  while (!q.frames.empty() && !batch->full()) {
    const std::vector<uint8_t>& f = q.frames.front();
    Packet* pkt = pool_->Alloc();
    if (pkt == nullptr) break;  // Pool exhausted: leave it queued.
    uint8_t* dst = pkt->Append(static_cast<uint32_t>(f.size()));
    if (dst == nullptr) {  // Cannot happen: Receive checked the size.
      FreePacket(pkt);
      stats_.rx_dropped++;
    } else {
      std::copy(f.begin(), f.end(), dst);
      batch->Add(pkt);
      stats_.rx_packets++;
      stats_.rx_bytes += f.size();
    }
    q.frames.pop_front();
  }
  q.n_frames.store(q.frames.size(), std::memory_order_release);
  return batch->n_pkts;
}

uint32_t DummyPort::TxBurst(int qid, PacketBatch* batch) {
  (void)qid;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (uint32_t i = 0; i < batch->n_pkts; i++) {
      const Packet* pkt = batch->pkts[i];
      std::vector<uint8_t> bytes(pkt->packet_length());
      CopyPacketData(pkt, bytes.data(), static_cast<uint32_t>(bytes.size()));
      if (tx_capture_ != nullptr && !tx_capture_->Write(bytes).ok()) {
        stats_.tx_errors++;
      }
      stats_.tx_packets++;
      stats_.tx_bytes += bytes.size();
      if (kept_tx_.size() >= max_kept_tx_) kept_tx_.pop_front();
      kept_tx_.push_back(std::move(bytes));
    }
  }
  uint32_t n = batch->n_pkts;
  FreeBatch(batch);
  return n;
}

Status DummyPort::SetMtu(int mtu) {
  if (mtu < 68 || mtu > 65535) {
    return Error("port", "interface \"" + name_ + "\": MTU " +
                             std::to_string(mtu) + " out of range 68..65535");
  }
  mtu_.store(mtu, std::memory_order_relaxed);
  return Status::Ok();
}

LinkState DummyPort::link_state() const {
  return link_.load(std::memory_order_relaxed);
}

void DummyPort::SetLinkState(LinkState state) {
  link_.store(state, std::memory_order_relaxed);
}

PortStats DummyPort::GetStats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void DummyPort::SetRxWaker(int qid, RxWaker* waker) {
  // Receive calls the waker under the same lock, so once this returns the
  // old waker is never called again and may be destroyed.
  std::lock_guard<std::mutex> lock(mutex_);
  if (qid >= 0 && qid < n_rxq()) rxqs_[qid]->waker = waker;
}

std::vector<std::vector<uint8_t>> DummyPort::TakeTransmitted() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<std::vector<uint8_t>> out(
      std::make_move_iterator(kept_tx_.begin()),
      std::make_move_iterator(kept_tx_.end()));
  kept_tx_.clear();
  return out;
}

size_t DummyPort::n_kept_tx() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return kept_tx_.size();
}

Result<std::vector<uint8_t>> ParseHexFrame(const std::string& hex) {
  std::string digits;
  size_t start = hex.rfind("0x", 0) == 0 ? 2 : 0;
  for (size_t i = start; i < hex.size(); i++) {
    char c = hex[i];
    if (c == ' ' || c == ':' || c == '\n' || c == '\t') continue;
    if (!std::isxdigit(static_cast<unsigned char>(c))) {
      return Error("usage", std::string("packet: '") + c + "' at offset " +
                                std::to_string(i) + " is not a hex digit");
    }
    digits += c;
  }
  if (digits.empty() || digits.size() % 2 != 0) {
    return Error("usage", "packet: need an even, non-zero number of hex "
                          "digits (got " + std::to_string(digits.size()) + ")");
  }
  std::vector<uint8_t> out(digits.size() / 2);
  for (size_t i = 0; i < out.size(); i++) {
    out[i] = static_cast<uint8_t>(std::stoi(digits.substr(2 * i, 2), nullptr, 16));
  }
  return out;
}

}  // namespace spate::datapath
