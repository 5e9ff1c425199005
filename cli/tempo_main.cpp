// The `tempo` executable: tempo's built-in parts only. Programs with their own parts write the
// same two lines after registering them (see examples/custom_model_cli.cpp).
#include "tempo/cli/main.h"

int main(int argc, char** argv) { return tempo::cli::main(argc, argv); }
