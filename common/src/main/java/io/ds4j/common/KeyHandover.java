package io.ds4j.common;

import java.util.List;
import java.util.Map;

/**
 * What one worker tells a key's new owner about the key, when ownership moves (a ring change) or the owner lost its
 * records (a restart): the version it knows, where the copies of that version are, and the key's global references.
 * A holder reporting its own copy sends its version with itself as the primary, or, for a replica, a null primary
 * and itself among {@code replicas}; an old owner handing over a range sends its whole record.
 *
 * @param meta     the version, or null when only references are handed over
 * @param replicas workers holding a replica of {@code meta}'s version (not the primary)
 * @param refs     global references per holder (a client), empty when none
 * @param deletedVersion the version the key had when the old owner deleted it a moment ago (0: none): a copy of it
 *                 or an older version that a holder reports must not bring it back
 */
public record KeyHandover(String key, KeyMeta meta, List<String> replicas, Map<String, Long> refs,
                          long deletedVersion)
{
    public KeyHandover
    {
        replicas = List.copyOf(replicas);
        refs = Map.copyOf(refs);
    }

    /** A holder's report of its own copy of {@code meta} (its primary when {@code replica} is false). */
    public static KeyHandover ofCopy(final String key, final KeyMeta meta, final String holder, final boolean replica)
    {
        return replica
            ? new KeyHandover(key, new KeyMeta(meta.version(), meta.size(), meta.writeMode(), meta.consistency(),
                meta.expiresAtMs(), null), List.of(holder), Map.of(), 0)
            : new KeyHandover(key, meta, List.of(), Map.of(), 0);
    }
}
