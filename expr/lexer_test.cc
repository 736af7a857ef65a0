// Tests of the tokenizer (reference 5.1).
#include "expr/lexer.h"

#include <gtest/gtest.h>

namespace spate::expr {
namespace {

std::vector<TokenType> Types(std::string_view s) {
  std::vector<TokenType> out;
  for (const Token& t : Tokenize(s)) out.push_back(t.type);
  return out;
}

Token One(std::string_view s) {
  std::vector<Token> t = Tokenize(s);
  EXPECT_EQ(t.size(), 2u) << s;
  return t[0];
}

TEST(LexerTest, IdentifiersAndPunctuation) {
  using T = TokenType;
  EXPECT_EQ(Types("eth.src == {a, b}; ( ) [ ] != < <= > >= ! && || .. ="),
            (std::vector<T>{T::kIdentifier, T::kEq, T::kLCurly, T::kIdentifier, T::kComma,
                            T::kIdentifier, T::kRCurly, T::kSemicolon, T::kLParen,
                            T::kRParen, T::kLSquare, T::kRSquare, T::kNe, T::kLt, T::kLe,
                            T::kGt, T::kGe, T::kLogNot, T::kLogAnd, T::kLogOr,
                            T::kEllipsis, T::kEquals, T::kEnd}));
  EXPECT_EQ(One("eth.src").text, "eth.src");
  EXPECT_EQ(One("_x.y9").text, "_x.y9");
  EXPECT_EQ(One("reg0").text, "reg0");
}

TEST(LexerTest, SubfieldRange) {
  std::vector<Token> t = Tokenize("vlan.tci[0..11]");
  ASSERT_EQ(t.size(), 7u);
  EXPECT_EQ(t[0].text, "vlan.tci");
  EXPECT_EQ(t[2].type, TokenType::kInteger);
  EXPECT_EQ(t[2].value, 0u);
  EXPECT_EQ(t[3].type, TokenType::kEllipsis);
  EXPECT_EQ(t[4].value, 11u);
}

TEST(LexerTest, IntegerFormats) {
  Token d = One("80");
  EXPECT_EQ(d.type, TokenType::kInteger);
  EXPECT_EQ(d.format, IntFormat::kDecimal);
  EXPECT_EQ(d.value, 80u);
  Token h = One("0x800");
  EXPECT_EQ(h.format, IntFormat::kHex);
  EXPECT_EQ(h.value, 0x800u);
  Token ip = One("10.0.0.1");
  EXPECT_EQ(ip.format, IntFormat::kIpv4);
  EXPECT_EQ(ip.value, 0x0a000001u);
  Token mac = One("00:00:00:00:00:01");
  EXPECT_EQ(mac.format, IntFormat::kEthernet);
  EXPECT_EQ(mac.value, 1u);
  Token mac2 = One("aa:bb:cc:dd:ee:ff");
  EXPECT_EQ(mac2.format, IntFormat::kEthernet);
  EXPECT_EQ(mac2.value, Uint128{0xaabbccddeeffULL});
  Token v6 = One("fe80::1");
  EXPECT_EQ(v6.format, IntFormat::kIpv6);
  EXPECT_EQ(v6.value, (Uint128{0xfe80000000000000ULL} << 64) | 1);
  Token v6b = One("::1");
  EXPECT_EQ(v6b.format, IntFormat::kIpv6);
  EXPECT_EQ(v6b.value, 1u);
  Token big = One("0xffffffffffffffffffffffffffffffff");
  EXPECT_EQ(big.value, ~Uint128{0});
  EXPECT_EQ(One("18446744073709551615").value, Uint128{UINT64_MAX});
}

TEST(LexerTest, Masks) {
  Token a = One("10.0.0.0/8");
  EXPECT_EQ(a.type, TokenType::kMaskedInteger);
  EXPECT_EQ(a.mask, 0xff000000u);
  Token b = One("0x800/0xff00");
  EXPECT_EQ(b.value, 0x800u);
  EXPECT_EQ(b.mask, 0xff00u);
  Token c = One("fe80::/10");
  EXPECT_EQ(c.mask, Uint128{0xffc0000000000000ULL} << 64);
  Token d = One("0/0x0");
  EXPECT_EQ(d.type, TokenType::kMaskedInteger);
  EXPECT_EQ(d.mask, 0u);
  Token e = One("10.0.0.0/255.0.0.0");
  EXPECT_EQ(e.mask, 0xff000000u);
  Token f = One("00:00:00:00:00:01/01:00:00:00:00:01");
  EXPECT_EQ(f.mask, Uint128{0x010000000001ULL});
}

TEST(LexerTest, StringsAndComments) {
  std::vector<Token> t = Tokenize("\"a\\\"b\\u00e9\\ud83d\\ude00\" /* c */ x // rest");
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0].type, TokenType::kString);
  EXPECT_EQ(t[0].text, "a\"b\xc3\xa9\xf0\x9f\x98\x80");
  EXPECT_EQ(t[1].text, "x");
  EXPECT_EQ(QuoteString("a\"b\\\n"), "\"a\\\"b\\\\\\u000a\"");
}

TEST(LexerTest, Errors) {
  const char* bad[] = {"012", "0x", "99999999999999999999", "1.2.3", "10.0.0.1/33",
                       "0x1/8", "10.0.0.1/8", "00:00:00:00:00:0g", "1:2:3",
                       "\"abc", "\"a\\qb\"", "\"\\ud800\"", "/* open", "&", "|", "#",
                       "0x100000000000000000000000000000000", "12abc", "\"a\nb\""};
  for (const char* s : bad) {
    std::vector<Token> t = Tokenize(s);
    bool has_error = false;
    for (const Token& tok : t) has_error |= tok.type == TokenType::kError;
    EXPECT_TRUE(has_error) << s;
    EXPECT_EQ(t.back().type, TokenType::kEnd) << s;
  }
}

TEST(LexerTest, HexFormatting) {
  EXPECT_EQ(FormatHex(0), "0x0");
  EXPECT_EQ(FormatHex(0x800), "0x800");
  EXPECT_EQ(FormatHex(~Uint128{0}), "0xffffffffffffffffffffffffffffffff");
}

}  // namespace
}  // namespace spate::expr
