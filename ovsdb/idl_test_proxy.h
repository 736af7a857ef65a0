// CuttingProxy: a JSON-RPC proxy for tests of the client library, run on
// the test's EventLoop between an Idl and an ovsdb-server, that can cut
// the connection around the next "transact" request:
//   kBeforeRequest  drop the request and close (the server never sees it);
//   kAfterReply     forward the request, let the server commit and send
//                   its updates, then drop the reply and close.
// Both leave the client with a transaction whose outcome it cannot know
// from the connection, which is what Txn's lost-reply resolution handles.
// SetOpen(false) keeps the client away from the server (every connection
// is closed at once) until SetOpen(true), so that others can commit
// transactions the client will have missed.
//
// Design: one downstream (accepted) and one upstream (connected) Session
// per client connection; messages from the client that arrive before the
// upstream connects are queued.  Closing either side closes the other.
// Callbacks hold raw pointers into the proxy: the proxy must outlive the
// loop's last run (declare the EventLoop before it).
//
// Thread-safety: the EventLoop's thread only.
#ifndef SPATE_OVSDB_IDL_TEST_PROXY_H
#define SPATE_OVSDB_IDL_TEST_PROXY_H

#include <list>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/event_loop.h"
#include "common/jsonrpc_session.h"

namespace spate::ovsdb::idl {

class CuttingProxy {
 public:
  enum class Cut { kNone, kBeforeRequest, kAfterReply };

  // Listens on `listen` (a punix: name) and forwards to `upstream`.
  CuttingProxy(common::EventLoop& loop, const std::string& listen, std::string upstream)
      : loop_(loop), upstream_(std::move(upstream)) {
    auto l = common::Listener::Create(loop, listen, {}, {},
                                      [this](std::shared_ptr<common::Session> s) { Accept(s); });
    EXPECT_TRUE(l.ok()) << l.error().ToString();
    if (l.ok()) listener_ = std::move(l).value();
    remote_ = listen.substr(1);  // "punix:X" -> "unix:X".
  }
  ~CuttingProxy() {
    for (Pair& p : pairs_) CloseBoth(p);
  }

  // The active name clients connect to.
  const std::string& remote() const { return remote_; }
  // Cuts the connection around the next transact request.
  void CutNext(Cut cut) { cut_ = cut; }
  // True once the requested cut happened.
  bool cut_done() const { return cut_ == Cut::kNone; }
  // Connections cut so far.
  int cuts() const { return cuts_; }
  // false: closes every connection now and each new one as it arrives;
  // true: forwards again.
  void SetOpen(bool open) {
    open_ = open;
    if (!open_) {
      for (Pair& p : pairs_) CloseBoth(p);
    }
  }

 private:
  struct Pair {
    std::shared_ptr<common::Session> down;   // From the client.
    std::shared_ptr<common::Session> up;     // To the server.
    std::vector<common::Message> queued;     // Before `up` connected.
    nlohmann::json cut_id;                   // Reply to drop (kAfterReply).
    bool closed = false;                     // Either side closed.
  };

  void Accept(std::shared_ptr<common::Session> down) {
    if (!open_) {
      down->Close();
      return;
    }
    Pair* p = &pairs_.emplace_back();
    p->down = down;
    down->Start([this, p](common::Session&, common::Message&& m) { FromClient(*p, std::move(m)); },
                [this, p](common::Session&, const Status&) { CloseBoth(*p); });
    common::AsyncConnect(loop_, upstream_, {}, {},
                         [this, p](Result<std::shared_ptr<common::Session>> r) {
                           if (!r.ok() || p->closed) return CloseBoth(*p);
                           p->up = *r;
                           p->up->Start(
                               [this, p](common::Session&, common::Message&& m) {
                                 FromServer(*p, std::move(m));
                               },
                               [this, p](common::Session&, const Status&) { CloseBoth(*p); });
                           for (const common::Message& m : p->queued) p->up->Send(m);
                           p->queued.clear();
                         });
  }

  void FromClient(Pair& p, common::Message&& m) {
    if (m.type == common::MessageType::kRequest && m.method == "transact") {
      if (cut_ == Cut::kBeforeRequest) {
        cut_ = Cut::kNone;
        ++cuts_;
        return CloseBoth(p);
      }
      if (cut_ == Cut::kAfterReply) p.cut_id = m.id;
    }
    if (p.up) {
      p.up->Send(m);
    } else {
      p.queued.push_back(std::move(m));
    }
  }

  void FromServer(Pair& p, common::Message&& m) {
    bool reply = m.type == common::MessageType::kReply || m.type == common::MessageType::kError;
    if (reply && !p.cut_id.is_null() && m.id == p.cut_id) {
      cut_ = Cut::kNone;
      ++cuts_;
      return CloseBoth(p);
    }
    p.down->Send(m);
  }

  void CloseBoth(Pair& p) {
    p.closed = true;
    if (p.down) p.down->Close();
    if (p.up) p.up->Close();
  }

  common::EventLoop& loop_;                     // Runs the sessions.
  std::string upstream_;                        // Server's active name.
  std::string remote_;                          // Our active name.
  std::unique_ptr<common::Listener> listener_;  // Accepts clients.
  std::list<Pair> pairs_;                       // Stable addresses.
  Cut cut_ = Cut::kNone;                        // Pending cut.
  int cuts_ = 0;                                // Cuts made.
  bool open_ = true;                            // Forwarding (SetOpen).
};

}  // namespace spate::ovsdb::idl

#endif  // SPATE_OVSDB_IDL_TEST_PROXY_H
