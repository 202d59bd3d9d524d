// rampart's command line: run, validate, version, demo-origin.
#include "cli.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>

#include "config/config.h"
#include "demo/demo_origin.h"
#include "observe/metrics.h"
#include "server/server.h"
#include "server/snapshot.h"
#include "upstream/http_client.h"

#ifndef RAMPART_VERSION
#define RAMPART_VERSION "0.1.0"
#endif

namespace rampart {

int RunCommandLine(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  // Diagnostics go to stderr; stdout is left to the access log when it is configured there.
  spdlog::set_default_logger(spdlog::stderr_color_mt("rampart"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");
  CLI::App app{"rampart: an API gateway with every security and reliability gate in one binary"};
  app.require_subcommand(1);

  std::string config_path;
  auto* run = app.add_subcommand("run", "Serve traffic with a configuration file");
  run->add_option("-c,--config", config_path, "YAML configuration file")->required();

  std::string validate_path;
  auto* validate = app.add_subcommand("validate", "Check a configuration file and exit");
  validate->add_option("-c,--config", validate_path, "YAML configuration file")->required();

  auto* version = app.add_subcommand("version", "Print the version");

  std::string listen = "127.0.0.1:9000";
  int threads = 1;
  auto* demo = app.add_subcommand("demo-origin", "Run the built-in demo origin");
  demo->add_option("--listen", listen, "host:port to listen on");
  demo->add_option("--threads", threads, "worker threads")->check(CLI::Range(1, 64));
  int capacity = 0;
  demo->add_option("--capacity", capacity,
                   "requests served at once for ?work=MS (the rest queue); 0: unlimited")
      ->check(CLI::Range(0, 100000));

  CLI11_PARSE(app, argc, argv);

  if (*version) {
    std::printf("rampart %s\n", RAMPART_VERSION);
    return 0;
  }
  if (*validate) {
    observe::Metrics metrics(1);
    state::Stores stores(1, metrics);
    boost::asio::io_context io;  // never run: nothing is fetched while validating
    net::LoopContext loop(io, 16 * 1024, 1);
    upstream::HttpClient client(loop, metrics);
    Services services{io.get_executor(), &client};
    auto built =
        server::BuildSnapshot(config::LoadConfigFile(validate_path), metrics, stores, services, 1);
    if (!built.snapshot) {
      for (const auto& e : built.errors) std::fprintf(stderr, "%s\n", e.ToString().c_str());
      return 1;
    }
    std::printf("%s: configuration is valid\n", validate_path.c_str());
    return 0;
  }
  if (*demo) return rampart::demo::RunDemoOrigin(listen, threads, capacity);
  rampart::server::Server server(config_path);
  return server.Run();
}

}  // namespace rampart
