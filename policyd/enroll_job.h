/* Enrollment requests, handled off the loop (enroll_job.c). */
#ifndef MGATE_POLICYD_ENROLL_JOB_H
#define MGATE_POLICYD_ENROLL_JOB_H

#include <stdint.h>

#include "enroll.h"
#include "policyd.h"

/* Checks what needs the database, queues the password check and the
 * signing on a worker thread, and replies when it is done. */
void enroll_job_start(struct policyd *p, struct svc *svc, struct ipc_conn *conn, uint64_t rid,
                      const Mgate__EnrollRequest *rq);

#endif
