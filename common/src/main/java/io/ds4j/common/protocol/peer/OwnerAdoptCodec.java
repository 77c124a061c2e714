package io.ds4j.common.protocol.peer;

import io.ds4j.common.ConsistencyType;
import io.ds4j.common.KeyHandover;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.WriteMode;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.ProtocolException;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code OWNER_ADOPT} (docs/protocol.md 13.8). Request: a count, then per key: the key (string); the version it had
 * when the old owner deleted it a moment ago (long, 0 for none); a presence byte and,
 * when present, the version's metadata as {@link KeyMetaCodec} writes it except that the primary is a presence byte
 * and a string; a count of replica holders (strings); a count of reference holders, each a string and a count
 * (long). Reply: a count, then per key a byte: 0 adopted, 1 outdated (the owner has a newer version: the sender's
 * copy is stale and must go).
 */
public final class OwnerAdoptCodec
{
    /** The most keys in one message: a handover of a large range goes in several. */
    public static final int MAX_KEYS = 1024;
    private static final int MAX_HOLDERS = 4096;

    private OwnerAdoptCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final List<KeyHandover> handovers)
    {
        out.putInt(handovers.size());
        for (final KeyHandover handover : handovers)
        {
            out.putString(handover.key()).putLong(handover.deletedVersion());
            final KeyMeta meta = handover.meta();
            out.putBoolean(meta != null);
            if (meta != null)
            {
                out.putLong(meta.version()).putLong(meta.size()).putByte(meta.writeMode().value())
                    .putByte(meta.consistency().value()).putLong(meta.expiresAtMs()).putBoolean(meta.primary() != null);
                if (meta.primary() != null)
                {
                    out.putString(meta.primary());
                }
            }
            out.putInt(handover.replicas().size());
            for (final String replica : handover.replicas())
            {
                out.putString(replica);
            }
            out.putInt(handover.refs().size());
            for (final Map.Entry<String, Long> ref : handover.refs().entrySet())
            {
                out.putString(ref.getKey()).putLong(ref.getValue());
            }
        }
    }

    public static List<KeyHandover> readRequest(final BodyReader in)
    {
        final int count = in.getCount(14, MAX_KEYS);
        final List<KeyHandover> handovers = new ArrayList<>(count);
        for (int i = 0; i < count; i++)
        {
            final String key = in.getString();
            final long deletedVersion = in.getLong();
            KeyMeta meta = null;
            if (in.getBoolean())
            {
                final long version = in.getLong();
                final long size = in.getLong();
                if (size < 0)
                {
                    throw new ProtocolException("negative size " + size + " in a handover of " + key);
                }
                final WriteMode mode = WriteMode.of(in.getByte());
                final ConsistencyType consistency = ConsistencyType.of(in.getByte());
                final long expiresAtMs = in.getLong();
                meta = new KeyMeta(version, size, mode, consistency, expiresAtMs, in.getBoolean() ? in.getString()
                    : null);
            }
            final int replicaCount = in.getCount(4, MAX_HOLDERS);
            final List<String> replicas = new ArrayList<>(replicaCount);
            for (int r = 0; r < replicaCount; r++)
            {
                replicas.add(in.getString());
            }
            final int refCount = in.getCount(12, MAX_HOLDERS);
            final Map<String, Long> refs = new HashMap<>(refCount * 2);
            for (int r = 0; r < refCount; r++)
            {
                final String holder = in.getString();
                final long references = in.getLong();
                if (references <= 0 || refs.put(holder, references) != null)
                {
                    throw new ProtocolException("bad reference count " + references + " of " + holder + " on " + key);
                }
            }
            if (meta == null && refs.isEmpty() && deletedVersion <= 0)
            {
                throw new ProtocolException("a handover of " + key + " carries no version, deletion or references");
            }
            handovers.add(new KeyHandover(key, meta, replicas, refs, deletedVersion));
        }
        return handovers;
    }

    public static void writeReply(final BodyWriter out, final boolean[] outdated)
    {
        out.putInt(outdated.length);
        for (final boolean stale : outdated)
        {
            out.putBoolean(stale);
        }
    }

    public static boolean[] readReply(final BodyReader in, final int expected)
    {
        final int count = in.getCount(1, expected);
        if (count != expected)
        {
            throw new ProtocolException("an adopt reply for " + count + " keys, " + expected + " were sent");
        }
        final boolean[] outdated = new boolean[count];
        for (int i = 0; i < count; i++)
        {
            outdated[i] = in.getBoolean();
        }
        return outdated;
    }
}
