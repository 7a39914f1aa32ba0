// A GResolver the test scripts, installed as GIO's default while it lives
// (g_resolver_set_default): a known name resolves to its address after
// delay_ms, any other name is not found. A synchronous lookup blocks its
// caller for delay_ms, as a slow DNS server would. One at a time; on the
// test's thread, whose thread-default context receives the answers.
#pragma once

#include <gio/gio.h>

#include <map>
#include <string>

namespace lk::test {

class ScriptedResolver {
 public:
  explicit ScriptedResolver(std::map<std::string, std::string> addresses, unsigned delay_ms = 0);
  ~ScriptedResolver();  // restores the previous default resolver
  ScriptedResolver(const ScriptedResolver&) = delete;
  ScriptedResolver& operator=(const ScriptedResolver&) = delete;

  int asked() const;     // lookups started
  int answered() const;  // lookups answered (found or not)

 private:
  GResolver* previous_;
};

}  // namespace lk::test
