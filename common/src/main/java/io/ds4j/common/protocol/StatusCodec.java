package io.ds4j.common.protocol;

import io.ds4j.common.DsException;
import io.ds4j.common.StatusCode;

/**
 * The status word that starts every response body, and the error body that follows a status other than OK
 * (docs/protocol.md 4). A status-0 body is written by {@link BodyWriter#beginResponse} and then the message's codec.
 */
public final class StatusCodec
{
    public static final int OK = 0;

    private StatusCodec()
    {
    }

    /** A whole error response: the status, then the reason (the exception's detail, without the code prefix). */
    public static void writeError(final BodyWriter out, final short type, final long correlationId,
        final StatusCode code, final String message)
    {
        out.beginResponse(type, correlationId, code.value()).putString(message);
    }

    /**
     * Reads the status word of a response; returns when it is OK, with the reader at the message's body.
     *
     * @throws DsException the worker's code (UNKNOWN_ERROR for a number this client does not know) and message
     */
    public static void readStatus(final BodyReader in)
    {
        final int status = in.getInt();
        if (status != OK)
        {
            throw new DsException(StatusCode.of(status), in.getString());
        }
    }
}
