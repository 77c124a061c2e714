package io.ds4j.common;

/**
 * What a key's owner knows of one version: the answer to a query, and what a writer registers when it publishes.
 * The bytes live at {@code primary} (a worker address); other copies are the owner's business.
 *
 * @param expiresAtMs 0 when the key has no TTL
 */
public record KeyMeta(long version, long size, WriteMode writeMode, ConsistencyType consistency, long expiresAtMs,
                      String primary)
{
    public boolean isExpired(final long nowMs)
    {
        return expiresAtMs != 0 && expiresAtMs <= nowMs;
    }
}
