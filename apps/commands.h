// commands.h — the ditc subcommands (each in its own cmd_*.c; ditc.c dispatches).
#ifndef DITC_COMMANDS_H
#define DITC_COMMANDS_H

int cmd_info(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_check(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_extract(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_fid(int argc, char **argv);

#endif
