// ditc.c — the command line entry point: dispatches `ditc <command> [flags]`.
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "common.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"info", cmd_info, "backend, threads, registered ops and the measured sgemm rate"},
    {"train", cmd_train, "train a DiT (reference train.py flags; --resume latest|DIR)"},
    {"sample", cmd_sample, "class-conditional samples from a checkpoint into a PNG grid (DDPM/DDIM, CFG)"},
    {"bench", cmd_bench, "time full training steps; images/s, GFLOP/s vs the sgemm rate, arena peak"},
    {"check", cmd_check, "numerics of one batch (output, losses, grads, AdamW steps) for comparison with PyTorch"},
    {"extract", cmd_extract, "write a data set's preprocessed 8-bit samples into safetensors shards (+ index.json)"},
    {"fid", cmd_fid, "Fréchet Inception Distance as pytorch-fid (image folders, .npz batches, statistics)"},
    {"inspect", cmd_inspect, "list the tensors and metadata of a .safetensors or torch.save .pt/.pth file"},
    {"convert", cmd_convert, "rewrite a torch.save .pt/.pth (state_dict or checkpoint) as .safetensors"},
};

static void usage(FILE *f) {
    fprintf(f, "ditc %s — a DiT trainer in C\n\nusage: ditc <command> [flags]\n\ncommands:\n", DITC_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].help);
    fprintf(f, "\n`ditc <command> --help` shows the flags of a command.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ditc %s\n", DITC_VERSION);
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ditc: unknown command '%s' (see `ditc --help`)\n", argv[1]);
    return 2;
}
