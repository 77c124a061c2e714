package io.ds4j.common.protocol.peer;

import io.ds4j.common.StatusCode;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.ProtocolException;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code MIGRATE_DATA} (docs/protocol.md 13.9), from a worker on a lossless exit to the worker that is to keep its
 * values. Request: the sender's address (string), a count (int, 1..{@link #MAX_KEYS}), then per key its key (string)
 * and the version the sender holds as primary (long). Reply: per key, in order, a status code (int): {@code K_OK}
 * taken (pulled and registered with the key's owner as a copy), {@code NOT_FOUND} not taken because that version is
 * no longer the key's current one, anything else why it could not be taken ({@code OUT_OF_MEMORY}, ...).
 */
public final class MigrateDataCodec
{
    /** Keys per message: a batch is pulled key by key before the reply, so it stays a few MiB at the rate limit. */
    public static final int MAX_KEYS = 1024;

    /** A decoded request. */
    public record Request(String sender, List<String> keys, long[] versions)
    {
    }

    private MigrateDataCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String sender, final List<String> keys,
        final long[] versions)
    {
        if (keys.isEmpty() || keys.size() > MAX_KEYS || versions.length != keys.size())
        {
            throw new IllegalArgumentException("a migration batch has 1.." + MAX_KEYS + " keys, each with its version");
        }
        out.putString(sender).putInt(keys.size());
        for (int i = 0; i < versions.length; i++)
        {
            out.putString(keys.get(i)).putLong(versions[i]);
        }
    }

    public static Request readRequest(final BodyReader in)
    {
        final String sender = in.getString();
        final int count = in.getCount(12, MAX_KEYS);
        if (count == 0)
        {
            throw new ProtocolException("a MIGRATE_DATA without keys");
        }
        final List<String> keys = new ArrayList<>(count);
        final long[] versions = new long[count];
        for (int i = 0; i < count; i++)
        {
            keys.add(in.getString());
            versions[i] = in.getLong();
        }
        return new Request(sender, keys, versions);
    }

    public static void writeReply(final BodyWriter out, final StatusCode[] outcomes)
    {
        for (final StatusCode outcome : outcomes)
        {
            out.putInt(outcome.value());
        }
    }

    public static StatusCode[] readReply(final BodyReader in, final int count)
    {
        final StatusCode[] outcomes = new StatusCode[count];
        for (int i = 0; i < count; i++)
        {
            outcomes[i] = StatusCode.of(in.getInt());
        }
        return outcomes;
    }
}
