// Tests for JSON-RPC messages and the incremental reader: every split
// point, merged messages, malformed, non-object, deep and huge input.
#include "common/jsonrpc.h"

#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace spate::common {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

std::vector<Message> FeedAll(JsonRpcReader& reader, std::string_view data,
                             Status* status) {
  std::vector<Message> out;
  *status = reader.Feed(data, [&](Message&& m) {
    out.push_back(std::move(m));
    return true;
  });
  return out;
}

TEST(Message, SerializesAsOvsdbDoes) {
  EXPECT_EQ(Message::Request("transact", json::array({"OVN"}), 7).ToString(),
            R"({"id":7,"method":"transact","params":["OVN"]})");
  EXPECT_EQ(Message::Notification("update", json::array({1})).ToString(),
            R"({"id":null,"method":"update","params":[1]})");
  EXPECT_EQ(Message::Reply(json::array(), "x").ToString(),
            R"({"error":null,"id":"x","result":[]})");
  EXPECT_EQ(Message::ErrorReply("unknown method", 3).ToString(),
            R"({"error":"unknown method","id":3,"result":null})");
}

TEST(Message, InvalidUtf8IsReplacedNotThrown) {
  std::string s = Message::Reply(std::string("a\xff"), 1).ToString();
  EXPECT_THAT(s, HasSubstr("a\xef\xbf\xbd"));
}

TEST(Message, FromJsonClassifies) {
  auto parse = [](const char* text) {
    return Message::FromJson(json::parse(text));
  };
  auto r = parse(R"({"method":"echo","params":[],"id":0})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, MessageType::kRequest);
  EXPECT_EQ(r->method, "echo");
  EXPECT_EQ(r->id, 0);
  r = parse(R"({"method":"update","params":[null,{}],"id":null})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, MessageType::kNotification);
  r = parse(R"({"method":"update","params":[]})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, MessageType::kNotification);
  r = parse(R"({"result":{"a":1},"error":null,"id":5})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, MessageType::kReply);
  EXPECT_EQ(r->result["a"], 1);
  r = parse(R"({"result":null,"error":"oops","id":5})");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->type, MessageType::kError);
  EXPECT_EQ(r->error, "oops");
}

TEST(Message, FromJsonErrors) {
  auto error = [](const char* text) {
    auto r = Message::FromJson(json::parse(text));
    return r.ok() ? std::string("ok") : r.error().details();
  };
  EXPECT_EQ(error("[1]"), "message is not a JSON object");
  EXPECT_EQ(error(R"({"method":1,"params":[],"id":1})"),
            "method is not a JSON string");
  EXPECT_EQ(error(R"({"method":"m","params":{},"id":1})"),
            "\"params\" must be JSON array");
  EXPECT_EQ(error(R"({"method":"m","id":1})"), "\"params\" must be JSON array");
  EXPECT_EQ(error(R"({"method":"m","params":[],"id":1,"x":2})"),
            "message has unexpected member \"x\"");
  EXPECT_EQ(error(R"({"id":1})"),
            "message has no \"method\", \"result\" or \"error\"");
  EXPECT_EQ(error(R"({"result":1})"), "reply must have \"id\"");
}

TEST(Reader, EverySplitPointGivesTheSameMessages) {
  const std::string stream =
      R"({"id":1,"method":"transact","params":["OVN",{"op":"insert","row":{"name":"a}\"{["}}]})"
      "\n"
      R"({"id":null,"method":"update","params":[null,{"T":{}}]} )"
      R"({"error":null,"id":1,"result":[{"uuid":["uuid","0"]}]})";
  for (size_t split = 0; split <= stream.size(); split++) {
    JsonRpcReader reader;
    Status s1, s2;
    auto a = FeedAll(reader, std::string_view(stream).substr(0, split), &s1);
    auto b = FeedAll(reader, std::string_view(stream).substr(split), &s2);
    ASSERT_TRUE(s1.ok() && s2.ok()) << "split at " << split;
    a.insert(a.end(), std::make_move_iterator(b.begin()),
             std::make_move_iterator(b.end()));
    ASSERT_EQ(a.size(), 3u) << "split at " << split;
    EXPECT_EQ(a[0].params[1]["row"]["name"], "a}\"{[");
    EXPECT_EQ(a[1].type, MessageType::kNotification);
    EXPECT_EQ(a[2].type, MessageType::kReply);
    EXPECT_TRUE(reader.idle());
  }
}

TEST(Reader, ByteAtATime) {
  std::string stream;
  for (int i = 0; i < 50; i++) {
    stream += Message::Request("echo", json::array({i, "x\\\"y"}), i).ToString();
  }
  JsonRpcReader reader;
  std::vector<Message> got;
  for (char c : stream) {
    Status s;
    auto part = FeedAll(reader, std::string_view(&c, 1), &s);
    ASSERT_TRUE(s.ok());
    for (auto& m : part) got.push_back(std::move(m));
  }
  ASSERT_EQ(got.size(), 50u);
  EXPECT_EQ(got[49].id, 49);
  EXPECT_EQ(got[49].params[1], "x\\\"y");
}

TEST(Reader, MalformedInputIsAStickyError) {
  JsonRpcReader reader;
  Status s;
  auto got = FeedAll(reader, R"({"id":1,"method":"a","params":[]}{"id":,})", &s);
  EXPECT_EQ(got.size(), 1u);  // The good message before the bad one.
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().tag(), "protocol error");
  EXPECT_THAT(s.error().details(), HasSubstr("syntax error"));
  FeedAll(reader, R"({"id":1,"method":"a","params":[]})", &s);
  EXPECT_FALSE(s.ok());
}

TEST(Reader, TopLevelMustBeAnObject) {
  for (const char* bad : {"[1,2]", "42", "\"str\"", "null", "}"}) {
    JsonRpcReader reader;
    Status s;
    FeedAll(reader, bad, &s);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_THAT(s.error().details(), HasSubstr("expected '{'")) << bad;
  }
}

TEST(Reader, ValidJsonThatIsNotAMessage) {
  JsonRpcReader reader;
  Status s;
  FeedAll(reader, R"({"foo":1})", &s);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().details(), "message has unexpected member \"foo\"");
}

TEST(Reader, HugeMessageIsRefusedEvenWhenSplit) {
  JsonRpcReader reader(1000);
  std::string big = R"({"id":1,"method":"m","params":[")" +
                    std::string(2000, 'x') + R"("]})";
  Status s;
  FeedAll(reader, std::string_view(big).substr(0, 600), &s);
  EXPECT_TRUE(s.ok());
  FeedAll(reader, std::string_view(big).substr(600), &s);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().details(), "message exceeds 1000 bytes");
  EXPECT_EQ(reader.buffered_bytes(), 0u);
}

TEST(Reader, MessageAtTheLimitIsAccepted) {
  std::string msg = Message::Request("m", json::array({"abc"}), 1).ToString();
  JsonRpcReader reader(msg.size());
  Status s;
  EXPECT_EQ(FeedAll(reader, msg, &s).size(), 1u);
  EXPECT_TRUE(s.ok());
}

TEST(Reader, DeepNestingIsRefused) {
  JsonRpcReader reader;
  std::string deep = R"({"id":1,"method":"m","params":)" +
                     std::string(5000, '[') + std::string(5000, ']') + "}";
  Status s;
  FeedAll(reader, deep, &s);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.error().details(), HasSubstr("nesting deeper than"));
}

TEST(Reader, CallbackCanStopConsumption) {
  JsonRpcReader reader;
  std::string two = Message::Notification("a", json::array()).ToString() +
                    Message::Notification("b", json::array()).ToString();
  int n = 0;
  Status s = reader.Feed(two, [&](Message&&) {
    n++;
    return false;
  });
  EXPECT_TRUE(s.ok());
  EXPECT_EQ(n, 1);
}

}  // namespace
}  // namespace spate::common
