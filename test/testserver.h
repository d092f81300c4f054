/* testserver.h - run the bundled test server (test/server/canal_server.py)
 * from a C test: start it with a script on a free port, stop it, read its
 * request log. Header-only, for the test programs; they set build_dir. */
#ifndef TESTSERVER_H
#define TESTSERVER_H
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../canal.h"

static const char *build_dir = "build";

typedef struct server {
    pid_t pid;
    int port;
    char log[256];
} server;

static inline int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline void sleep_ms(int ms) {
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Start the server with `script` (JSON text, or NULL) and extra arguments
 * (NULL-terminated). Waits for its port file. */
static inline int server_start(server *s, const char *script, ...) {
    static int seq;
    char script_path[256], port_path[256], pbdir[256];
    const char *argv[40];
    int argc = 0;
    va_list ap;
    seq++;
    snprintf(port_path, sizeof port_path, "%s/tmp/port-%d-%d", build_dir, (int)getpid(), seq);
    snprintf(s->log, sizeof s->log, "%s/tmp/log-%d-%d", build_dir, (int)getpid(), seq);
    snprintf(script_path, sizeof script_path, "%s/tmp/script-%d-%d.json", build_dir, (int)getpid(), seq);
    snprintf(pbdir, sizeof pbdir, "%s/pb_py", build_dir);
    unlink(port_path);
    unlink(s->log);
    argv[argc++] = "/usr/bin/python3";
    argv[argc++] = "test/server/canal_server.py";
    argv[argc++] = "--port-file";
    argv[argc++] = port_path;
    argv[argc++] = "--log";
    argv[argc++] = s->log;
    argv[argc++] = "--pb-dir";
    argv[argc++] = pbdir;
    if (script) {
        FILE *f = fopen(script_path, "w");
        if (!f) return -1;
        fputs(script, f);
        fclose(f);
        argv[argc++] = "--script";
        argv[argc++] = script_path;
    }
    va_start(ap, script);
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL && argc < 38) argv[argc++] = a;
    va_end(ap);
    argv[argc] = NULL;
    s->pid = fork();
    if (s->pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0) dup2(devnull, 1);
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    int64_t deadline = mono_ms() + 20000;
    while (mono_ms() < deadline) {
        FILE *f = fopen(port_path, "r");
        if (f) {
            int ok = fscanf(f, "%d", &s->port) == 1;
            fclose(f);
            if (ok) return 0;
        }
        if (waitpid(s->pid, NULL, WNOHANG) == s->pid) break;
        sleep_ms(20);
    }
    fprintf(stderr, "  server did not start\n");
    return -1;
}

static inline void server_stop(server *s) {
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        int64_t deadline = mono_ms() + 3000;
        while (waitpid(s->pid, NULL, WNOHANG) == 0) {
            if (mono_ms() > deadline) {
                kill(s->pid, SIGKILL);
                waitpid(s->pid, NULL, 0);
                break;
            }
            sleep_ms(10);
        }
    }
    s->pid = 0;
}

/* How many lines of the server's request log start with `prefix`. */
static inline int log_count(const server *s, const char *prefix) {
    FILE *f = fopen(s->log, "r");
    char line[8192];
    int n = 0;
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, prefix, strlen(prefix)) == 0) n++;
    fclose(f);
    return n;
}

static inline int log_has(const server *s, const char *needle) {
    FILE *f = fopen(s->log, "r");
    char line[8192];
    int found = 0;
    if (!f) return 0;
    while (!found && fgets(line, sizeof line, f)) found = strstr(line, needle) != NULL;
    fclose(f);
    return found;
}

/* Wait (at most 5 s) until the server has logged n closed connections:
 * every request of a closed connection has then been handled. Acks have no
 * reply, and the server handles each connection in its own thread, so a
 * new connection can otherwise overtake the last requests of the old one
 * (as it can with Canal's own server). */
static inline bool wait_closed(const server *s, int n) {
    int64_t deadline = mono_ms() + 5000;
    while (log_count(s, "CLOSE") < n) {
        if (mono_ms() > deadline) return false;
        sleep_ms(5);
    }
    return true;
}

/* Wait (up to 5 s) until the server has logged the end of every connection:
 * acks get no reply, so only then is every request in its log. */
static inline void server_settle(const server *s) {
    int64_t deadline = mono_ms() + 5000;
    while (log_count(s, "CONNECT ") != log_count(s, "CLOSE ") && mono_ms() < deadline) sleep_ms(20);
}

/* ------------------------------------------------------------ sessions */

static inline canal_client *client_for(const server *s, const char *user, const char *pw) {
    canal_options o;
    canal_options_init(&o);
    o.port = s->port;
    o.username = user;
    o.password = pw;
    o.read_timeout_ms = 5000;
    o.connect_timeout_ms = 2000;
    return canal_client_new(&o);
}

/* A script of n single-row INSERT transactions into shop.t (id, v). */
static inline char *insert_script(int n, const char *faults) {
    size_t cap = 512 + (size_t)n * 300 + (faults ? strlen(faults) : 0);
    char *s = malloc(cap), *p = s;
    p += sprintf(p, "{\"entries\":[");
    for (int i = 1; i <= n; i++)
        p += sprintf(p,
                     "%s{\"tx\":[{\"type\":\"INSERT\",\"schema\":\"shop\",\"table\":\"t\","
                     "\"columns\":[{\"name\":\"id\",\"mysql_type\":\"bigint(20)\",\"sql_type\":-5,"
                     "\"key\":true},{\"name\":\"v\",\"mysql_type\":\"varchar(16)\",\"sql_type\":12}],"
                     "\"rows\":[{\"after\":[%d,\"v%d\"]}]}]}",
                     i > 1 ? "," : "", i, i);
    p += sprintf(p, "],\"faults\":[%s]}", faults ? faults : "");
    return s;
}

/* The id column of the first after image of the first ROWDATA entry. */
static inline int first_id(canal_client *c, const canal_message *m) {
    for (size_t i = 0; i < m->n_entries; i++) {
        canal_rowchange rc;
        if (m->entries[i].entry_type != CANAL_ROWDATA) continue;
        if (canal_entry_rowchange(c, &m->entries[i], &rc) != CANAL_OK || rc.n_rows == 0 ||
            rc.rows[0].n_after == 0)
            return -1;
        return atoi(rc.rows[0].after[0].value.ptr);
    }
    return -1;
}

/* A server with n single-row inserts (and faults), and a client keeping
 * `depth` GETs in flight (0: the default) connected and subscribed to it;
 * NULL if any step failed. */
static inline canal_client *insert_session_depth(server *s, int n, const char *faults,
                                                 const char *filter, int depth) {
    char *script = insert_script(n, faults);
    int started = server_start(s, script, NULL) == 0;
    free(script);
    if (!started) return NULL;
    canal_options o;
    canal_options_init(&o);
    o.port = s->port;
    o.read_timeout_ms = 5000;
    o.connect_timeout_ms = 2000;
    if (depth) o.get_pipeline = depth;
    canal_client *c = canal_client_new(&o);
    if (c && (canal_connect(c) != CANAL_OK || canal_subscribe(c, filter) != CANAL_OK)) {
        fprintf(stderr, "  session set-up failed: %s\n", canal_errstr(c));
        canal_client_free(c);
        server_stop(s);
        return NULL;
    }
    return c;
}

static inline canal_client *insert_session(server *s, int n, const char *faults, const char *filter) {
    return insert_session_depth(s, n, faults, filter, 0);
}

#endif
