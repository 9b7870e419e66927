/*
 * credential: read a mailbox's password from a private file, either
 * $CREDENTIALS_DIRECTORY/NAME (systemd LoadCredential=) or an absolute
 * path. No message ever contains the password.
 */
#ifndef EWSPROBED_CREDENTIAL_H
#define EWSPROBED_CREDENTIAL_H

/* The longest password taken, in bytes. */
#define CREDENTIAL_MAX_PASSWORD 1024

/*
 * Read the credential ref: an absolute path, or a name (letters, digits,
 * '.', '_', '-', as the configuration checks it) under
 * $CREDENTIALS_DIRECTORY. Return 0 and set *password (free it with
 * xfree_secret); return -1 and set *error (caller frees) to why not; or,
 * when check_only and a name cannot be looked up because
 * $CREDENTIALS_DIRECTORY is not set, return 1 and set neither.
 */
int credential_read(const char *, int, char **, char **);

#endif
