package io.ds4j.common;

/** Every failure the SDK or the worker reports: a status code with the upstream's number and a message. */
public class DsException extends RuntimeException
{
    private final StatusCode code;

    public DsException(final StatusCode code, final String message)
    {
        super(message);
        this.code = code;
    }

    public DsException(final StatusCode code, final String message, final Throwable cause)
    {
        super(message, cause);
        this.code = code;
    }

    public StatusCode code()
    {
        return code;
    }

    @Override
    public String getMessage()
    {
        return "[" + code + "(" + code.value() + ")] " + super.getMessage();
    }

    /** The message without the code prefix, as it travels on the wire. */
    public String detail()
    {
        return super.getMessage();
    }
}
