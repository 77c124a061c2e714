package io.ds4j.common.protocol;

/** A frame that breaks docs/protocol.md; the connection that sent it is closed with this reason. */
public final class ProtocolException extends RuntimeException
{
    public ProtocolException(final String message)
    {
        super(message);
    }
}
