/* LD_PRELOAD shim for the benchmark: sets TCP_NODELAY on every socket a
 * server accepts, for peers (dufs) that have no switch for it, so the small
 * keep-alive responses of W2 are not held back by Nagle's algorithm.
 * Build: cc -O2 -shared -fPIC -o nodelay.so nodelay.c -ldl */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static void set_nodelay(int fd) {
    if (fd >= 0) {
        int one = 1;
        /* Fails harmlessly on sockets that are not TCP. */
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
}

int accept(int sock, struct sockaddr *addr, socklen_t *len) {
    static int (*real)(int, struct sockaddr *, socklen_t *);
    if (!real) real = dlsym(RTLD_NEXT, "accept");
    int fd = real(sock, addr, len);
    set_nodelay(fd);
    return fd;
}

int accept4(int sock, struct sockaddr *addr, socklen_t *len, int flags) {
    static int (*real)(int, struct sockaddr *, socklen_t *, int);
    if (!real) real = dlsym(RTLD_NEXT, "accept4");
    int fd = real(sock, addr, len, flags);
    set_nodelay(fd);
    return fd;
}
