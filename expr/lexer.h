// Lexer for the OVN match and action language (reference section 5.1).
//
// What it is
//   Turns a match or action string into tokens: identifiers (`eth.src`,
//   `reg0`), JSON strings (`"sw0-port1"`), integers in five display formats
//   (decimal, hexadecimal up to 128 bits, IPv4, IPv6, Ethernet), masked
//   integers (`10.0.0.0/8`, `0x800/0xff00`, `fe80::/10`) and punctuation.
//   Comments (`// ...` to end of line, `/* ... */`) are skipped.
//
// Design
//   The whole input is tokenized up front into a vector ending in kEnd, so
//   the parser has free lookahead.  A lexical problem becomes one kError
//   token carrying the message; the parser reports it with its position.
//   Integers are unsigned 128-bit values (`Uint128`); the format they were
//   written in is remembered so masks can be checked against it.
//
// Thread-safety
//   Pure functions over their arguments.
#ifndef SPATE_EXPR_LEXER_H
#define SPATE_EXPR_LEXER_H

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace spate::expr {

// Values of fields up to 128 bits wide (IPv6 addresses).  GCC and Clang
// both provide the type; the language needs nothing wider.
using Uint128 = unsigned __int128;

// How an integer constant was written.
enum class IntFormat : uint8_t { kDecimal, kHex, kIpv4, kIpv6, kEthernet };

enum class TokenType : uint8_t {
  kEnd,            // End of input.
  kIdentifier,     // eth.src, reg0, next
  kString,         // "sw0-port1" (text holds the decoded string)
  kInteger,        // 80, 0x800, 10.0.0.1, fe80::1, 00:00:00:00:00:01
  kMaskedInteger,  // 10.0.0.0/8, 0x800/0xfff0
  kError,          // A lexical error (text holds the message).
  kLParen, kRParen, kLCurly, kRCurly, kLSquare, kRSquare,
  kEq, kNe, kLt, kLe, kGt, kGe,  // == != < <= > >=
  kLogNot, kLogAnd, kLogOr,       // ! && ||
  kEllipsis,                      // ..
  kComma, kSemicolon, kEquals,    // , ; =
};

// One token.
struct Token {
  TokenType type = TokenType::kEnd;       // What it is.
  std::string text;                       // Identifier, decoded string or error.
  Uint128 value = 0;                      // kInteger / kMaskedInteger value.
  Uint128 mask = 0;                       // kMaskedInteger mask (else all ones).
  IntFormat format = IntFormat::kDecimal;  // Display format of integers.
  size_t offset = 0;                      // Byte offset of the token in the input.
  size_t length = 0;                      // Bytes of input the token spans.
};

// Tokenizes `input`.  Always ends with a kEnd token; stops after the first
// kError token (which then precedes kEnd).
std::vector<Token> Tokenize(std::string_view input);

// Short printable form of a token for error messages: the input text it
// spans (at most 30 bytes), or "end of input".
std::string DescribeToken(const Token& token, std::string_view input);

// Hexadecimal "0x..." text of a 128-bit value (no leading zeros).
std::string FormatHex(Uint128 value);

// JSON string literal for `s` (quoted, escaped).
std::string QuoteString(std::string_view s);

}  // namespace spate::expr

#endif  // SPATE_EXPR_LEXER_H
