// `swalp` runs the commands that need neither libtorch nor MPI itself and execs
// `swalp-training` (the same commands plus training, built beside it) for the others.
#pragma once

namespace swalp::cli {

// Whether this command line names a command only `swalp-training` has (or asks for the help
// that lists every command).
bool needs_training_binary(int argc, char** argv);

// Replaces this process with `swalp-training` from this executable's folder, same arguments;
// returns only if that fails (the caller reports it).
void exec_training_binary(char** argv);

}  // namespace swalp::cli
