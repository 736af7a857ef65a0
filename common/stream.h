// Stream names as Open vSwitch spells them, and SSL settings.
//
// Active:  unix:PATH   tcp:IP[:PORT]   ssl:IP[:PORT]
// Passive: punix:PATH  ptcp:[PORT][:IP] pssl:[PORT][:IP]
// IPv6 addresses are bracketed: tcp:[::1]:6640, ptcp:6640:[::1].  PORT
// defaults to 6640 (OVSDB's IANA port); a passive port of 0 picks a free
// one.  Relative unix paths are relative to $OVS_RUNDIR, as in OVS.
// Hosts must be IP addresses (no name resolution).
//
// Thread-safety: pure functions and value types.
#ifndef SPATE_COMMON_STREAM_H
#define SPATE_COMMON_STREAM_H

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace spate::common {

// Transport of a stream.
enum class StreamKind { kUnix, kTcp, kSsl };

// A parsed stream name.
struct StreamAddress {
  StreamKind kind = StreamKind::kUnix;  // unix, tcp or ssl.
  bool passive = false;                 // punix/ptcp/pssl.
  std::string path;                     // kUnix: absolute socket path.
  std::string host;                     // kTcp/kSsl: IP, without brackets;
                                        // passive default "0.0.0.0".
  uint16_t port = 0;                    // kTcp/kSsl: port.

  // The canonical name, e.g. "tcp:127.0.0.1:6640", "ptcp:6640:[::1]".
  std::string ToString() const;
};

// OVSDB's default port.
constexpr uint16_t kDefaultOvsdbPort = 6640;

// Parses a stream name.  Errors (tag "usage"): unknown prefix, bad IP,
// bad port, empty path; e.g. "tcp:foo:1: bad IP address \"foo\"".
[[nodiscard]] Result<StreamAddress> ParseStreamAddress(
    std::string_view name, uint16_t default_port = kDefaultOvsdbPort);

// True if `name` starts with an active or passive stream prefix that this
// module knows.
bool IsStreamName(std::string_view name);

// Private key, certificate and CA certificate for ssl:/pssl: (PEM file
// paths), as --private-key, --certificate and --ca-cert give them.  Both
// sides present their certificate and verify the peer's against the CA
// (no host name check), as Open vSwitch does.
struct SslConfig {
  std::string private_key;  // PEM private key file.
  std::string certificate;  // PEM certificate file.
  std::string ca_cert;      // PEM CA certificate file.

  // OK if all three are set; else a clear "usage" error naming the option.
  [[nodiscard]] Status Validate() const;
};

}  // namespace spate::common

#endif  // SPATE_COMMON_STREAM_H
