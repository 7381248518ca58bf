/* broker.c - starts and stops a private Mosquitto broker for one API test (see broker.h). */
#include "broker.h"

#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define MOSQUITTO        "/usr/sbin/mosquitto"
#define MOSQUITTO_CTRL   "/usr/bin/mosquitto_ctrl"
#define DYNSEC_PLUGIN    "/usr/lib/x86_64-linux-gnu/mosquitto_dynamic_security.so"
#define ADMIN_USER       "cityos-admin"
#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  10000
#define MAX_BROKERS      16

struct broker {
    char *dir;
    char *conf;
    char *secret_file;
    char password[65];
    int port;
    pid_t pid; /* 0 when not running */
};

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct broker *registry[MAX_BROKERS];
static int atexit_done;

static void kill_all(void)
{
    pthread_mutex_lock(&registry_lock);
    for (int i = 0; i < MAX_BROKERS; i++) {
        if (registry[i] != NULL && registry[i]->pid > 0) {
            kill(registry[i]->pid, SIGKILL);
            waitpid(registry[i]->pid, NULL, 0);
            registry[i]->pid = 0;
        }
    }
    pthread_mutex_unlock(&registry_lock);
}

static void registry_set(struct broker *old, struct broker *b)
{
    pthread_mutex_lock(&registry_lock);
    if (!atexit_done) {
        atexit(kill_all);
        atexit_done = 1;
    }
    for (int i = 0; i < MAX_BROKERS; i++) {
        if (registry[i] == old) {
            registry[i] = b;
            break;
        }
    }
    pthread_mutex_unlock(&registry_lock);
}

static void random_hex(char *out, size_t nbytes)
{
    unsigned char raw[32];
    assert_true(nbytes <= sizeof raw);
    FILE *f = fopen("/dev/urandom", "rb");
    assert_non_null(f);
    assert_int_equal(fread(raw, 1, nbytes, f), nbytes);
    fclose(f);
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

static void write_private(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    size_t n = strlen(text);
    assert_int_equal(write(fd, text, n), (ssize_t)n);
    assert_int_equal(close(fd), 0);
}

static void write_conf(struct broker *b)
{
    /* as root, Mosquitto would switch to the user "mosquitto", who cannot read the folder */
    const struct passwd *pw = getpwuid(geteuid());
    assert_non_null(pw);
    char *text = str_printf("per_listener_settings false\n"
                            "user %s\n"
                            "listener %d 127.0.0.1\n"
                            "allow_anonymous false\n"
                            "plugin " DYNSEC_PLUGIN "\n"
                            "plugin_opt_config_file %s/dynamic-security.json\n"
                            "persistence true\n"
                            "persistence_location %s/\n"
                            "autosave_on_changes true\n"
                            "autosave_interval 1\n"
                            "max_queued_messages 100000\n"
                            "log_dest file %s/mosquitto.log\n"
                            "log_type all\n"
                            "connection_messages true\n",
                            pw->pw_name, b->port, b->dir, b->dir, b->dir);
    write_private(b->conf, text);
    free(text);
}

static int accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int ok = connect(fd, (struct sockaddr *)&a, sizeof a) == 0;
    close(fd);
    return ok;
}

static void spawn(struct broker *b)
{
    char *log = str_printf("%s/stdout.log", b->dir);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the broker dies with the test process, whatever happens to it */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        int null = open("/dev/null", O_RDONLY);
        if (null >= 0)
            dup2(null, 0);
        execl(MOSQUITTO, MOSQUITTO, "-c", b->conf, (char *)NULL);
        _exit(127);
    }
    free(log);
    b->pid = pid;
}

static void dump_log(const struct broker *b)
{
    char *cmd =
        str_printf("cat %s/stdout.log %s/mosquitto.log 1>&2 2>/dev/null; true", b->dir, b->dir);
    char *out = run_command(cmd);
    free(out);
    free(cmd);
}

/* Runs the broker and waits until it accepts connections; 1 when it does, 0 when it exited
 * first (e.g. the port was taken meanwhile), failing the test when it hangs. */
static int launch(struct broker *b)
{
    write_conf(b);
    spawn(b);
    uint64_t until = now_ms() + START_TIMEOUT_MS;
    while (now_ms() < until) {
        int status;
        if (waitpid(b->pid, &status, WNOHANG) == b->pid) {
            b->pid = 0;
            return 0;
        }
        if (accepts(b->port))
            return 1;
        sleep_ms(20);
    }
    dump_log(b);
    kill(b->pid, SIGKILL);
    waitpid(b->pid, NULL, 0);
    b->pid = 0;
    fail_msg("mosquitto did not accept connections within %d ms", START_TIMEOUT_MS);
    return 0;
}

static void halt(struct broker *b, int sig)
{
    if (b->pid <= 0)
        return;
    kill(b->pid, sig);
    uint64_t until = now_ms() + STOP_TIMEOUT_MS;
    for (;;) {
        pid_t r = waitpid(b->pid, NULL, WNOHANG);
        if (r == b->pid || (r < 0 && errno == ECHILD))
            break;
        if (now_ms() >= until) {
            kill(b->pid, SIGKILL);
            waitpid(b->pid, NULL, 0);
            break;
        }
        sleep_ms(10);
    }
    b->pid = 0;
}

struct broker *broker_start(void)
{
    struct broker *b = calloc(1, sizeof *b);
    assert_non_null(b);
    b->dir = temp_dir();
    assert_int_equal(chmod(b->dir, 0700), 0);
    b->conf = str_printf("%s/mosquitto.conf", b->dir);
    b->secret_file = str_printf("%s/admin.secret", b->dir);
    random_hex(b->password, 24);
    write_private(b->secret_file, b->password);
    char *cmd = str_printf("umask 077 && " MOSQUITTO_CTRL
                           " dynsec init %s/dynamic-security.json " ADMIN_USER " %s 2>&1",
                           b->dir, b->password);
    free(run_command(cmd));
    free(cmd);
    registry_set(NULL, b);
    for (int attempt = 0; attempt < 5; attempt++) {
        b->port = free_port();
        if (launch(b))
            return b;
    }
    dump_log(b);
    fail_msg("mosquitto exited at start-up five times");
    return NULL;
}

static void relaunch(struct broker *b)
{
    uint64_t until = now_ms() + START_TIMEOUT_MS;
    while (!launch(b)) { /* the old socket may linger briefly */
        if (now_ms() >= until) {
            dump_log(b);
            fail_msg("mosquitto did not start again on port %d", b->port);
        }
        sleep_ms(100);
    }
}

void broker_restart(struct broker *b)
{
    halt(b, SIGTERM);
    relaunch(b);
}

void broker_restart_kill9(struct broker *b)
{
    halt(b, SIGKILL);
    relaunch(b);
}

int broker_port(const struct broker *b)
{
    return b->port;
}

const char *broker_admin_password_file(const struct broker *b)
{
    return b->secret_file;
}

const char *broker_admin_password(const struct broker *b)
{
    return b->password;
}

const char *broker_dir(const struct broker *b)
{
    return b->dir;
}

void broker_stop(struct broker *b)
{
    if (b == NULL)
        return;
    halt(b, SIGTERM);
    registry_set(b, NULL);
    remove_tree(b->dir);
    free(b->dir);
    free(b->conf);
    free(b->secret_file);
    free(b);
}
