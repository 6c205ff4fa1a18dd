// train_signal.c — stopping a run on a signal (--checkpoint-on-signal): the handler only records the signal;
// the loop sees it at the next rank reduction (train_step.c), so every rank finishes the same step, one
// checkpoint is written and the run exits with DITC_TRAIN_STOPPED. Further signals during the write are
// recorded and change nothing (the checkpoint is written atomically anyway). SA_RESTART keeps system calls
// (file writes, MPI's polling) from failing with EINTR. PIPE is in the default list: `ditc train … | head` or a
// tee that dies would otherwise kill the run at its next log line without a checkpoint; caught, the write fails
// with EPIPE instead, the run stops after the step with a checkpoint (the message goes to log.txt).
#include <signal.h>
#include <string.h>

#include "train_internal.h"

static volatile sig_atomic_t g_stop_signal; // the first signal received (0: none)

static void on_signal(int sig) {
    if (!g_stop_signal) g_stop_signal = sig;
}

static const struct {
    const char *name;
    int sig;
} k_signals[] = {{"TERM", SIGTERM}, {"INT", SIGINT}, {"USR1", SIGUSR1},
                 {"USR2", SIGUSR2}, {"HUP", SIGHUP}, {"PIPE", SIGPIPE}};
enum { N_SIGNALS = sizeof k_signals / sizeof *k_signals };
_Static_assert(N_SIGNALS <= DITC_TRAIN_MAX_SIGNALS, "ditc_train_signals is too small");

const char *ditc_train_signal_name(int sig) {
    for (int i = 0; i < N_SIGNALS; i++)
        if (k_signals[i].sig == sig) return k_signals[i].name;
    return "?";
}

int ditc_train_signals_install(ditc_train_signals *s, const char *list, ditc_status *st) {
    memset(s, 0, sizeof *s);
    g_stop_signal = 0;
    if (!list || !strcmp(list, "none") || !*list) return 0;
    int want[N_SIGNALS] = {0};
    char buf[256];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        const char *name = strncmp(tok, "SIG", 3) ? tok : tok + 3;
        int found = 0;
        for (int i = 0; i < N_SIGNALS; i++)
            if (!strcmp(name, k_signals[i].name)) want[i] = found = 1;
        if (!found)
            return ditc_fail(st, DITC_ERR_ARG,
                             "--checkpoint-on-signal %s: unknown signal '%s' (expected a list of TERM, INT, USR1, "
                             "USR2, HUP, PIPE, or none)",
                             list, tok);
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < N_SIGNALS; i++) {
        if (!want[i]) continue;
        sigaction(k_signals[i].sig, &sa, &s->old[i]);
        s->installed[i] = 1;
    }
    return 0;
}

void ditc_train_signals_restore(ditc_train_signals *s) {
    // after a stop signal the process is on its way out with a checkpoint: further signals keep being recorded
    // (ignored) rather than killing it on the last stretch (status 143 instead of 75)
    if (g_stop_signal) return;
    for (int i = 0; i < N_SIGNALS && i < DITC_TRAIN_MAX_SIGNALS; i++)
        if (s->installed[i]) sigaction(k_signals[i].sig, &s->old[i], NULL);
    memset(s, 0, sizeof *s);
}

int ditc_train_signal_pending(void) { return g_stop_signal; }
