/* Enrollment and pre-enrollment requests, their CPU work off the loop
 * (enroll_job.c). */
#ifndef MGATE_POLICYD_ENROLL_JOB_H
#define MGATE_POLICYD_ENROLL_JOB_H

#include <stdint.h>

#include "enroll.h"
#include "policyd.h"

/* Checks what needs the database, queues the password check and the
 * signing on a worker thread, and replies when it is done. */
void enroll_job_start(struct policyd *p, struct svc *svc, struct ipc_conn *conn, uint64_t rid,
                      const Mgate__EnrollRequest *rq);

/* Checks the fields, hashes the new passwords on a worker thread (PBKDF2
 * for each device of a bulk CSV), then stores all or nothing and replies. */
void enroll_pre_job_start(struct policyd *p, struct svc *svc, struct ipc_conn *conn, uint64_t rid,
                          const Mgate__PreEnrollRequest *rq);

#endif
