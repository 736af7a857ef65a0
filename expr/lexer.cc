// Tokenizer of the OVN expression language; see lexer.h.
#include "expr/lexer.h"

#include <arpa/inet.h>

#include <cstdio>
#include <cstring>

namespace spate::expr {
namespace {

bool IsIdStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.';
}
bool IsIdChar(char c) { return IsIdStart(c) || (c >= '0' && c <= '9'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsHexDigit(char c) {
  return IsDigit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
int HexValue(char c) {
  if (IsDigit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return c - 'A' + 10;
}

// xx:xx:xx:xx:xx:xx, exactly 17 characters.
bool IsEthernet(const std::string& s) {
  if (s.size() != 17) return false;
  for (size_t i = 0; i < 17; ++i) {
    if (i % 3 == 2 ? s[i] != ':' : !IsHexDigit(s[i])) return false;
  }
  return true;
}

Uint128 AllOnes(int bits) {
  if (bits >= 128) return ~Uint128{0};
  if (bits <= 0) return 0;
  return (Uint128{1} << bits) - 1;
}

// Appends code point `cp` as UTF-8.
void AppendUtf8(uint32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

class Lexer {
 public:
  explicit Lexer(std::string_view in) : in_(in) {}

  std::vector<Token> Run();

 private:
  bool SkipSpaceAndComments(Token* error);
  void LexOne(Token* t);
  void LexString(Token* t);
  bool LexHex4(size_t* p, uint32_t* cp);
  void LexNumber(Token* t);
  bool ParseInteger(std::string_view text, Token* t);
  bool ParseColonForm(const std::string& s, Token* t);
  bool ParseHex(const std::string& s, Token* t);
  bool ParseMask(std::string_view text, Token* t);
  size_t NumberRunEnd(size_t p) const;
  void Punct(Token* t);

  static void Fail(Token* t, std::string msg) {
    t->type = TokenType::kError;
    t->text = std::move(msg);
  }

  std::string_view in_;
  size_t pos_ = 0;
};

std::vector<Token> Lexer::Run() {
  std::vector<Token> tokens;
  for (;;) {
    Token t;
    if (!SkipSpaceAndComments(&t)) {
      tokens.push_back(std::move(t));
    } else if (pos_ >= in_.size()) {
      t.offset = in_.size();
      tokens.push_back(std::move(t));
      return tokens;
    } else {
      t.offset = pos_;
      LexOne(&t);
      t.length = pos_ - t.offset;
      tokens.push_back(std::move(t));
    }
    if (tokens.back().type == TokenType::kError) {
      Token end;
      end.offset = in_.size();
      tokens.push_back(end);
      return tokens;
    }
  }
}

// Skips blanks and comments; false (with `error` filled) on an unterminated
// block comment.
bool Lexer::SkipSpaceAndComments(Token* error) {
  while (pos_ < in_.size()) {
    char c = in_[pos_];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
      ++pos_;
    } else if (in_.substr(pos_, 2) == "//") {
      size_t nl = in_.find('\n', pos_);
      pos_ = nl == std::string_view::npos ? in_.size() : nl + 1;
    } else if (in_.substr(pos_, 2) == "/*") {
      size_t end = in_.find("*/", pos_ + 2);
      if (end == std::string_view::npos) {
        error->offset = pos_;
        error->length = 2;
        Fail(error, "`/*' without matching `*/'");
        pos_ = in_.size();
        return false;
      }
      pos_ = end + 2;
    } else {
      break;
    }
  }
  return true;
}

void Lexer::LexOne(Token* t) {
  char c = in_[pos_];
  if (c == '"') return LexString(t);
  if (IsDigit(c)) return LexNumber(t);
  if (c == ':' && pos_ + 1 < in_.size() && in_[pos_ + 1] == ':') return LexNumber(t);
  if (IsHexDigit(c)) {
    // A hex run followed by ':' starts a MAC or IPv6 address.
    size_t p = pos_;
    while (p < in_.size() && IsHexDigit(in_[p])) ++p;
    if (p < in_.size() && in_[p] == ':') return LexNumber(t);
  }
  if (IsIdStart(c) && !(c == '.' && in_.substr(pos_, 2) == "..")) {
    size_t start = pos_;
    while (pos_ < in_.size() && IsIdChar(in_[pos_])) {
      if (in_.substr(pos_, 2) == "..") break;  // `field[0..11]` never lexes here
      ++pos_;
    }
    t->type = TokenType::kIdentifier;
    t->text = std::string(in_.substr(start, pos_ - start));
    return;
  }
  Punct(t);
}

void Lexer::Punct(Token* t) {
  struct Op {
    const char* text;
    TokenType type;
  };
  static constexpr Op kOps[] = {
      {"==", TokenType::kEq},     {"!=", TokenType::kNe},
      {"<=", TokenType::kLe},     {">=", TokenType::kGe},
      {"&&", TokenType::kLogAnd}, {"||", TokenType::kLogOr},
      {"..", TokenType::kEllipsis}, {"(", TokenType::kLParen},
      {")", TokenType::kRParen},  {"{", TokenType::kLCurly},
      {"}", TokenType::kRCurly},  {"[", TokenType::kLSquare},
      {"]", TokenType::kRSquare}, {"<", TokenType::kLt},
      {">", TokenType::kGt},      {"!", TokenType::kLogNot},
      {",", TokenType::kComma},   {";", TokenType::kSemicolon},
      {"=", TokenType::kEquals},
  };
  for (const Op& op : kOps) {
    size_t n = std::strlen(op.text);
    if (in_.substr(pos_, n) == op.text) {
      t->type = op.type;
      pos_ += n;
      return;
    }
  }
  char c = in_[pos_++];
  if (c == '&') return Fail(t, "`&' is only valid as part of `&&'");
  if (c == '|') return Fail(t, "`|' is only valid as part of `||'");
  unsigned char u = static_cast<unsigned char>(c);
  if (u < 0x20 || u >= 0x7f) {
    char buf[40];
    std::snprintf(buf, sizeof buf, "invalid character 0x%02x in input", u);
    return Fail(t, buf);
  }
  Fail(t, std::string("invalid character `") + c + "' in input");
}

bool Lexer::LexHex4(size_t* p, uint32_t* cp) {
  if (*p + 4 > in_.size()) return false;
  *cp = 0;
  for (int i = 0; i < 4; ++i) {
    char c = in_[*p + i];
    if (!IsHexDigit(c)) return false;
    *cp = *cp * 16 + static_cast<uint32_t>(HexValue(c));
  }
  *p += 4;
  return true;
}

// A JSON string: escapes \" \\ \/ \b \f \n \r \t \uXXXX (with surrogate
// pairs); raw control characters are errors.
void Lexer::LexString(Token* t) {
  size_t p = pos_ + 1;
  std::string out;
  for (;;) {
    if (p >= in_.size()) {
      pos_ = in_.size();
      return Fail(t, "unterminated string");
    }
    char c = in_[p++];
    if (c == '"') break;
    if (static_cast<unsigned char>(c) < 0x20) {
      pos_ = p;
      return Fail(t, "control character in string (must be escaped)");
    }
    if (c != '\\') {
      out.push_back(c);
      continue;
    }
    if (p >= in_.size()) continue;  // Reported as unterminated.
    char e = in_[p++];
    switch (e) {
      case '"': case '\\': case '/': out.push_back(e); break;
      case 'b': out.push_back('\b'); break;
      case 'f': out.push_back('\f'); break;
      case 'n': out.push_back('\n'); break;
      case 'r': out.push_back('\r'); break;
      case 't': out.push_back('\t'); break;
      case 'u': {
        uint32_t cp;
        if (!LexHex4(&p, &cp)) {
          pos_ = p;
          return Fail(t, "malformed \\u escape in string");
        }
        if (cp >= 0xd800 && cp < 0xdc00) {
          uint32_t lo;
          if (in_.substr(p, 2) != "\\u" || (p += 2, !LexHex4(&p, &lo)) ||
              lo < 0xdc00 || lo >= 0xe000) {
            pos_ = p;
            return Fail(t, "invalid UTF-16 surrogate pair in string");
          }
          cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
        } else if (cp >= 0xdc00 && cp < 0xe000) {
          pos_ = p;
          return Fail(t, "invalid UTF-16 surrogate pair in string");
        }
        AppendUtf8(cp, &out);
        break;
      }
      default:
        pos_ = p;
        return Fail(t, std::string("invalid escape `\\") + e + "' in string");
    }
  }
  pos_ = p;
  t->type = TokenType::kString;
  t->text = std::move(out);
}

// End of the run of characters that can form a number (digits, hex
// letters, x, '.', ':'), stopping before a ".." range token.
size_t Lexer::NumberRunEnd(size_t p) const {
  while (p < in_.size()) {
    char c = in_[p];
    if (c == '.' && in_.substr(p, 2) == "..") break;
    if (!(IsHexDigit(c) || c == 'x' || c == 'X' || c == '.' || c == ':')) break;
    ++p;
  }
  return p;
}

void Lexer::LexNumber(Token* t) {
  size_t end = NumberRunEnd(pos_);
  std::string_view text = in_.substr(pos_, end - pos_);
  pos_ = end;
  if (pos_ < in_.size() && IsIdChar(in_[pos_]) && in_.substr(pos_, 2) != "..") {
    while (pos_ < in_.size() && IsIdChar(in_[pos_])) ++pos_;
    return Fail(t, "invalid numeric constant `" +
                       std::string(in_.substr(t->offset, pos_ - t->offset)) + "'");
  }
  if (!ParseInteger(text, t)) return;
  t->type = TokenType::kInteger;
  t->mask = ~Uint128{0};
  if (pos_ < in_.size() && in_[pos_] == '/') {
    ++pos_;
    size_t mend = NumberRunEnd(pos_);
    std::string_view mtext = in_.substr(pos_, mend - pos_);
    pos_ = mend;
    if (mtext.empty() || (pos_ < in_.size() && IsIdChar(in_[pos_]) &&
                          in_.substr(pos_, 2) != "..")) {
      while (pos_ < in_.size() && IsIdChar(in_[pos_])) ++pos_;
      return Fail(t, "invalid mask after `/'");
    }
    if (!ParseMask(mtext, t)) return;
  }
}

// Parses one unmasked integer in any format into t->value / t->format.
bool Lexer::ParseInteger(std::string_view text, Token* t) {
  std::string s(text);
  if (s.find(':') != std::string::npos) return ParseColonForm(s, t);
  if (s.find('.') != std::string::npos) {
    unsigned char a[4];
    if (inet_pton(AF_INET, s.c_str(), a) != 1) {
      Fail(t, "invalid IPv4 address `" + s + "'");
      return false;
    }
    t->value = Uint128{a[0]} << 24 | Uint128{a[1]} << 16 | Uint128{a[2]} << 8 | a[3];
    t->format = IntFormat::kIpv4;
    return true;
  }
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) return ParseHex(s, t);
  if (s.find_first_not_of("0123456789") != std::string::npos) {
    Fail(t, "invalid numeric constant `" + s + "'");
    return false;
  }
  if (s.size() > 1 && s[0] == '0') {
    Fail(t, "decimal constants must not have leading zeros");
    return false;
  }
  Uint128 v = 0;
  for (char c : s) {
    v = v * 10 + static_cast<unsigned>(c - '0');
    if (v > UINT64_MAX) {
      Fail(t, "decimal constant `" + s + "' does not fit in 64 bits");
      return false;
    }
  }
  t->value = v;
  t->format = IntFormat::kDecimal;
  return true;
}

// An Ethernet address (exactly 17 characters) or an IPv6 address.
bool Lexer::ParseColonForm(const std::string& s, Token* t) {
  t->value = 0;
  if (IsEthernet(s)) {
    for (size_t i = 0; i < 17; i += 3) {
      t->value = t->value << 8 | static_cast<unsigned>(HexValue(s[i]) * 16 + HexValue(s[i + 1]));
    }
    t->format = IntFormat::kEthernet;
    return true;
  }
  unsigned char a[16];
  if (inet_pton(AF_INET6, s.c_str(), a) != 1) {
    Fail(t, "invalid IPv6 or Ethernet address `" + s + "'");
    return false;
  }
  for (unsigned char x : a) t->value = t->value << 8 | x;
  t->format = IntFormat::kIpv6;
  return true;
}

// "0x..." with up to 32 significant hex digits.
bool Lexer::ParseHex(const std::string& s, Token* t) {
  std::string digits = s.substr(2);
  if (digits.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos) {
    Fail(t, "invalid hexadecimal constant `" + s + "'");
    return false;
  }
  size_t nz = digits.find_first_not_of('0');
  if (nz != std::string::npos && digits.size() - nz > 32) {
    Fail(t, "hexadecimal constant `" + s + "' is wider than 128 bits");
    return false;
  }
  t->value = 0;
  for (char c : digits) t->value = t->value << 4 | static_cast<unsigned>(HexValue(c));
  t->format = IntFormat::kHex;
  return true;
}

// Parses the mask after '/': the same format as the value, a prefix length
// for IPv4/IPv6 values, or hexadecimal for a decimal value (`0/0x0`).
bool Lexer::ParseMask(std::string_view text, Token* t) {
  Token m;
  if (!ParseInteger(text, &m)) {
    Fail(t, m.text);
    return false;
  }
  bool is_ip = t->format == IntFormat::kIpv4 || t->format == IntFormat::kIpv6;
  if (is_ip && m.format == IntFormat::kDecimal) {
    int bits = t->format == IntFormat::kIpv4 ? 32 : 128;
    if (m.value > static_cast<Uint128>(bits)) {
      Fail(t, "prefix length " + std::string(text) + " is longer than " +
                  std::to_string(bits) + " bits");
      return false;
    }
    int plen = static_cast<int>(m.value);
    t->mask = AllOnes(bits) & ~AllOnes(bits - plen);
  } else if (m.format == t->format ||
             (t->format == IntFormat::kDecimal && m.format == IntFormat::kHex)) {
    t->mask = m.value;
  } else {
    Fail(t, "value and mask have incompatible formats");
    return false;
  }
  if (t->value & ~t->mask) {
    Fail(t, "value contains unmasked 1-bits");
    return false;
  }
  t->type = TokenType::kMaskedInteger;
  return true;
}

}  // namespace

std::vector<Token> Tokenize(std::string_view input) { return Lexer(input).Run(); }

std::string DescribeToken(const Token& token, std::string_view input) {
  if (token.type == TokenType::kEnd) return "end of input";
  std::string_view text = input.substr(token.offset, token.length);
  if (text.size() > 30) return "`" + std::string(text.substr(0, 27)) + "...'";
  return "`" + std::string(text) + "'";
}

std::string FormatHex(Uint128 value) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string digits;
  do {
    digits.push_back(kDigits[static_cast<int>(value & 15)]);
    value >>= 4;
  } while (value != 0);
  return "0x" + std::string(digits.rbegin(), digits.rend());
}

std::string QuoteString(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    unsigned char u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (u < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", u);
      out += buf;
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace spate::expr
