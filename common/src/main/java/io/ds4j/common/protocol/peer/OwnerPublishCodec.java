package io.ds4j.common.protocol.peer;

import io.ds4j.common.ExistenceOpt;
import io.ds4j.common.KeyMeta;
import io.ds4j.common.protocol.BodyReader;
import io.ds4j.common.protocol.BodyWriter;
import io.ds4j.common.protocol.ProtocolException;

/**
 * {@code OWNER_PUBLISH} (docs/protocol.md 13.3). Request: key (string), existence (byte), {@link KeyMetaCodec key
 * metadata}. Reply: the outcome (byte: 0 PUBLISHED, 1 CREATED, 2 KEPT_EXISTING, 3 OUTDATED).
 */
public final class OwnerPublishCodec
{
    /** What the owner did, in wire order. */
    public enum Outcome
    {
        PUBLISHED, CREATED, KEPT_EXISTING, OUTDATED
    }

    /** A decoded request. */
    public record Request(String key, ExistenceOpt existence, KeyMeta meta)
    {
    }

    private OwnerPublishCodec()
    {
    }

    public static void writeRequest(final BodyWriter out, final String key, final ExistenceOpt existence,
        final KeyMeta meta)
    {
        out.putString(key).putByte(existence.value());
        KeyMetaCodec.write(out, meta);
    }

    public static Request readRequest(final BodyReader in)
    {
        final String key = in.getString();
        final ExistenceOpt existence = ExistenceOpt.of(in.getByte());
        return new Request(key, existence, KeyMetaCodec.read(in));
    }

    public static void writeReply(final BodyWriter out, final Outcome outcome)
    {
        out.putByte(outcome.ordinal());
    }

    public static Outcome readReply(final BodyReader in)
    {
        final int value = in.getByte();
        if (value >= Outcome.values().length)
        {
            throw new ProtocolException("unknown publish outcome " + value);
        }
        return Outcome.values()[value];
    }
}
