/* lifecycle.h - approval, renewal hand-over and blocking of clients. */
#ifndef STEWARD_LIFECYCLE_H
#define STEWARD_LIFECYCLE_H

#include "server.h"

/* Inside the caller's transaction: issues the certificate of a pending
 * request (request_id, or the client's latest), carrying a re-enrollment
 * over to the client it replaces. final_id (33 bytes) gets the client id
 * the certificate names; *revoked how many old certificates were revoked
 * (the caller calls server_revocations_changed() after commit if > 0). */
int approve_request(struct server *srv, struct db *db, const char *pending_id,
    const char *request_id, const char *source, const char *actor,
    char **cert_pem, char *serial, char *final_id, int *revoked, char *err);

/* First request with a certificate: record it, and revoke the client's
 * older certificates (a renewal is complete once the new one is used). */
int cert_first_use(struct server *srv, struct db *db, const char *client_id,
    const char *serial);

#endif
