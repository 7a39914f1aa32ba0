#include "scripted_resolver.h"

#include <utility>

namespace lk::test {
namespace {

struct Script {
  std::map<std::string, std::string> addresses;
  unsigned delay_ms = 0;
  int asked = 0, answered = 0;
};
Script script;

GList* answer_for(const std::string& host, GError** error) {
  ++script.answered;
  auto it = script.addresses.find(host);
  if (it == script.addresses.end()) {
    g_set_error(error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "no such host %s (scripted)", host.c_str());
    return nullptr;
  }
  return g_list_append(nullptr, g_inet_address_new_from_string(it->second.c_str()));
}

GList* lookup(GResolver*, const gchar* host, GCancellable*, GError** error) {
  ++script.asked;
  g_usleep(gulong{script.delay_ms} * 1000);
  return answer_for(host, error);
}

GList* lookup_with_flags(GResolver* resolver, const gchar* host, GResolverNameLookupFlags, GCancellable* cancellable,
                         GError** error) {
  return lookup(resolver, host, cancellable, error);
}

struct Pending {
  GTask* task;
  std::string host;
};

void lookup_async(GResolver* resolver, const gchar* host, GCancellable* cancellable, GAsyncReadyCallback callback,
                  gpointer data) {
  ++script.asked;
  GSource* timer = g_timeout_source_new(script.delay_ms);
  g_source_set_callback(
      timer,
      [](gpointer p) -> gboolean {
        auto* pending = static_cast<Pending*>(p);
        GError* error = nullptr;
        GList* addresses = answer_for(pending->host, &error);
        if (error) g_task_return_error(pending->task, error);
        else g_task_return_pointer(pending->task, addresses, reinterpret_cast<GDestroyNotify>(g_resolver_free_addresses));
        g_object_unref(pending->task);
        return G_SOURCE_REMOVE;
      },
      new Pending{g_task_new(resolver, cancellable, callback, data), host},
      [](gpointer p) { delete static_cast<Pending*>(p); });
  g_source_attach(timer, g_main_context_get_thread_default());
  g_source_unref(timer);
}

void lookup_async_with_flags(GResolver* resolver, const gchar* host, GResolverNameLookupFlags,
                             GCancellable* cancellable, GAsyncReadyCallback callback, gpointer data) {
  lookup_async(resolver, host, cancellable, callback, data);
}

GList* lookup_finish(GResolver*, GAsyncResult* result, GError** error) {
  return static_cast<GList*>(g_task_propagate_pointer(G_TASK(result), error));
}

struct LkScriptedResolver {
  GResolver parent;
};
struct LkScriptedResolverClass {
  GResolverClass parent;
};
G_DEFINE_TYPE(LkScriptedResolver, lk_scripted_resolver, G_TYPE_RESOLVER)

void lk_scripted_resolver_class_init(LkScriptedResolverClass* klass) {
  GResolverClass* resolver = G_RESOLVER_CLASS(klass);
  resolver->lookup_by_name = lookup;
  resolver->lookup_by_name_with_flags = lookup_with_flags;
  resolver->lookup_by_name_async = lookup_async;
  resolver->lookup_by_name_with_flags_async = lookup_async_with_flags;
  resolver->lookup_by_name_finish = lookup_finish;
  resolver->lookup_by_name_with_flags_finish = lookup_finish;
}

void lk_scripted_resolver_init(LkScriptedResolver*) {}

}  // namespace

ScriptedResolver::ScriptedResolver(std::map<std::string, std::string> addresses, unsigned delay_ms)
    : previous_(g_resolver_get_default()) {
  script = Script{std::move(addresses), delay_ms};
  GResolver* scripted = G_RESOLVER(g_object_new(lk_scripted_resolver_get_type(), nullptr));
  g_resolver_set_default(scripted);
  g_object_unref(scripted);
}

ScriptedResolver::~ScriptedResolver() {
  g_resolver_set_default(previous_);
  g_object_unref(previous_);
}

int ScriptedResolver::asked() const { return script.asked; }
int ScriptedResolver::answered() const { return script.answered; }

}  // namespace lk::test
