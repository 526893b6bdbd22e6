/* Who may connect to a socket: a list of uids and a list of gids (matched
 * against the peer's primary and supplementary groups, read with
 * SO_PEERCRED and SO_PEERGROUPS when it connects). */
#ifndef MGATE_IPC_ACL_H
#define MGATE_IPC_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define IPC_ACL_MAX 32

struct ipc_acl {
    uid_t uids[IPC_ACL_MAX];
    size_t n_uids;
    gid_t gids[IPC_ACL_MAX];
    size_t n_gids;
};

struct ipc_peer {
    pid_t pid;
    uid_t uid;
    gid_t gid;
};

int ipc_acl_add_uid(struct ipc_acl *acl, uid_t uid);
int ipc_acl_add_gid(struct ipc_acl *acl, gid_t gid);

/* Reads the peer's credentials from fd and checks them. Returns 0 when the
 * peer is allowed, -EACCES when not (peer filled in for the log line), or
 * another -errno when the credentials cannot be read. */
int ipc_acl_check_fd(const struct ipc_acl *acl, int fd, struct ipc_peer *peer);

#endif
