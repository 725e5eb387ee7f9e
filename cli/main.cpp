// `swalp`: exit 0 on success, 2 on bad usage or bad input, 1 on a runtime failure; every error
// is one line `swalp: error: ...` on stderr (DESIGN.md section 5).
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <new>
#include <stdexcept>
#include <string>

#include "commands.h"
#include "strict_numbers.h"
#include "swalp/error.h"
#ifdef SWALP_LIGHT_FRONT
#include "training_binary.h"
#endif

int main(int argc, char** argv) {
  // Past `ulimit -f` a write fails with EFBIG and is reported ("File too large", exit 1) and
  // its temporary removed, instead of the signal killing the process silently.
  std::signal(SIGXFSZ, SIG_IGN);
#ifdef SWALP_LIGHT_FRONT
  if (swalp::cli::needs_training_binary(argc, argv)) {
    swalp::cli::exec_training_binary(argv);
    std::fprintf(stderr,
                 "swalp: error: cannot run swalp-training (the training commands, installed "
                 "beside swalp): %s\n",
                 std::strerror(errno));
    return 1;
  }
#endif
  CLI::App app{"swalp: low-precision number formats and training"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  swalp::cli::register_formats(app);
  swalp::cli::register_quantize(app);
  [[maybe_unused]] CLI::App& bench = swalp::cli::register_bench(app);
  swalp::cli::register_error_stats(app);
  swalp::cli::register_theory(app);
  swalp::cli::register_zipml(app);
  swalp::cli::register_accumulate(app);
#ifndef SWALP_LIGHT_FRONT
  swalp::cli::register_bench_train(bench);
  swalp::cli::register_bench_comm(bench);
  swalp::cli::register_train(app);
  swalp::cli::register_reproduce(app);
  swalp::cli::register_codecs(app);
#endif
  swalp::cli::make_numbers_strict(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // Name the choices at the deepest subcommand given (`swalp theory` lists its experiments),
    // and the word that is none of them (`swalp trian`), if that is what went wrong.
    const CLI::App* level = &app;
    std::string unknown;
    for (int i = 1; i < argc && argv[i][0] != '-'; ++i) {
      const CLI::App* next = nullptr;
      for (const CLI::App* sub : level->get_subcommands({}))
        if (sub->get_name() == argv[i]) next = sub;
      if (!next) {
        if (!level->get_subcommands({}).empty()) unknown = argv[i];
        break;
      }
      level = next;
    }
    std::string path;
    for (const CLI::App* at = level; at != &app; at = at->get_parent())
      path = " " + at->get_name() + path;
    path = "swalp" + path;
    std::string subcommands;
    for (const CLI::App* sub : level->get_subcommands({}))
      subcommands += (subcommands.empty() ? "" : ", ") + sub->get_name();
    const std::string problem = unknown.empty() ? e.what() : "unknown subcommand '" + unknown + "'";
    if (subcommands.empty())  // a command's own options: its help lists them
      std::fprintf(stderr, "swalp: error: %s (see %s --help)\n", problem.c_str(), path.c_str());
    else
      std::fprintf(stderr, "swalp: error: %s (subcommands: %s; see %s --help)\n", problem.c_str(),
                   subcommands.c_str(), path.c_str());
    return 2;
  } catch (const swalp::InvalidInput& e) {
    std::fprintf(stderr, "swalp: error: %s\n", e.what());
    return 2;
  } catch (const swalp::RuntimeFailure& e) {
    std::fprintf(stderr, "swalp: error: %s\n", e.what());
    return 1;
  } catch (const std::bad_alloc&) {
    // Sites that size memory from the user's numbers say how much and for what; this is the
    // rest (libtorch, the standard library).
    std::fprintf(stderr,
                 "swalp: error: out of memory (an allocation failed); ask for less (--n, "
                 "--limit-train, --batch-size) or free memory\n");
    return 1;
  } catch (const std::length_error& e) {
    std::fprintf(stderr, "swalp: error: out of memory (%s); ask for less (--n, --limit-train)\n",
                 e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "swalp: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
