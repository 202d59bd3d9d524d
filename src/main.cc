// The rampart binary: its command line (cli.h).
#include "cli.h"
#include "net/tls/openssl_memory.h"

int main(int argc, char** argv) {
  // Before anything allocates through OpenSSL; if it already has, OpenSSL keeps malloc.
  rampart::net::tls::RouteOpenSslAllocations();
  return rampart::RunCommandLine(argc, argv);
}
