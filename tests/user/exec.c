/* execve: a forked child replaces itself with this same program, which
 * checks the argv, envp and auxv the kernel built and exits with 42; bad
 * paths and bad ELF files fail with Linux's errnos, and the caller goes on. */
#include <sys/auxv.h>

#include "ktap.h"

#define CHILD_OK 42

static int exec_child_main(int argc, char** argv, char** envp) {
  /* argv: prog "child" <pid before exec>; envp: EXEC_TEST=yes */
  if (argc != 3 || strcmp(argv[1], "child") != 0) return 1;
  if (atoi(argv[2]) != getpid()) return 2;
  if (!envp[0] || strcmp(envp[0], "EXEC_TEST=yes") != 0 || envp[1]) return 3;
  if (strcmp(getenv("EXEC_TEST") ? getenv("EXEC_TEST") : "", "yes") != 0) return 4;
  if (getauxval(AT_PAGESZ) != 4096) return 5;
  if (!getauxval(AT_PHDR) || getauxval(AT_PHENT) != 56 || !getauxval(AT_PHNUM)) return 6;
  if (!getauxval(AT_ENTRY) || !getauxval(AT_RANDOM)) return 7;
  if (getauxval(AT_UID) != getuid() || getauxval(AT_GID) != getgid()) return 8;
  if (getauxval(AT_CLKTCK) == 0) return 9;
  return CHILD_OK;
}

int main(int argc, char** argv, char** envp) {
  if (argc > 1) return exec_child_main(argc, argv, envp);

  ktap_begin("exec", 5);
  pid_t pid = fork();
  if (pid == 0) {
    char pidbuf[24];
    snprintf(pidbuf, sizeof pidbuf, "%d", getpid());
    char* args[] = {argv[0], "child", pidbuf, NULL};
    char* env[] = {"EXEC_TEST=yes", NULL};
    execve(argv[0], args, env);
    _exit(100 + errno);
  }
  int status = -1;
  int ok = CHECK(pid > 0) && CHECK(waitpid(pid, &status, 0) == pid);
  if (!exited_with(status, CHILD_OK)) ktap_diag("child status %#x", status);
  ktap_result(ok && CHECK(exited_with(status, CHILD_OK)), "exec_self_with_argv_envp_auxv");

  char path[256];
  char* args[] = {"x", NULL};
  errno = 0;
  ok = CHECK(execve(root_path(argv[0], "bin/does_not_exist", path, sizeof path), args, envp) == -1);
  ktap_result(ok && CHECK(errno == ENOENT), "exec_missing_enoent");

  errno = 0;
  ok = CHECK(execve(root_path(argv[0], "etc/hello.txt", path, sizeof path), args, envp) == -1);
  ktap_result(ok && CHECK(errno == ENOEXEC || errno == EACCES), "exec_text_file_fails");

  /* A truncated ELF (the first 200 bytes of hello, mode 0755): ENOEXEC. */
  errno = 0;
  ok = CHECK(execve(root_path(argv[0], "bin/truncated_elf", path, sizeof path), args, envp) == -1);
  ktap_result(ok && CHECK(errno == ENOEXEC), "exec_truncated_elf_enoexec");

  errno = 0;
  ok = CHECK(execve(root_path(argv[0], "etc", path, sizeof path), args, envp) == -1);
  ktap_result(ok && CHECK(errno == EACCES), "exec_directory_eacces");
  return ktap_end();
}
