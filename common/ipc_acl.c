#include "ipc_acl.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int ipc_acl_add_uid(struct ipc_acl *acl, uid_t uid)
{
    for (size_t i = 0; i < acl->n_uids; i++)
        if (acl->uids[i] == uid)
            return 0;
    if (acl->n_uids == IPC_ACL_MAX)
        return -ENOSPC;
    acl->uids[acl->n_uids++] = uid;
    return 0;
}

int ipc_acl_add_gid(struct ipc_acl *acl, gid_t gid)
{
    for (size_t i = 0; i < acl->n_gids; i++)
        if (acl->gids[i] == gid)
            return 0;
    if (acl->n_gids == IPC_ACL_MAX)
        return -ENOSPC;
    acl->gids[acl->n_gids++] = gid;
    return 0;
}

static bool ipc_acl_has_gid(const struct ipc_acl *acl, gid_t gid)
{
    for (size_t i = 0; i < acl->n_gids; i++)
        if (acl->gids[i] == gid)
            return true;
    return false;
}

int ipc_acl_check_fd(const struct ipc_acl *acl, int fd, struct ipc_peer *peer)
{
    struct ucred cred;
    socklen_t len = sizeof(cred);
    memset(peer, 0, sizeof(*peer));
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
        return -errno;
    peer->pid = cred.pid;
    peer->uid = cred.uid;
    peer->gid = cred.gid;
    for (size_t i = 0; i < acl->n_uids; i++)
        if (acl->uids[i] == cred.uid)
            return 0;
    if (ipc_acl_has_gid(acl, cred.gid))
        return 0;
    /* The credentials are those of the connect() call, so a peer cannot gain
     * a group by changing it after connecting. */
    gid_t groups[256];
    len = sizeof(groups);
    if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) == 0) {
        for (size_t i = 0; i < len / sizeof(gid_t); i++)
            if (ipc_acl_has_gid(acl, groups[i]))
                return 0;
    }
    return -EACCES;
}
