// The rampart binary: its command line (cli.h).
#include "cli.h"

int main(int argc, char** argv) { return rampart::RunCommandLine(argc, argv); }
