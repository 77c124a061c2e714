package io.ds4j.cli;

/**
 * A problem the user can fix (a bad flag, a taken port, a failed start): dscli prints its message, without a stack
 * trace, and exits with {@link #exitCode()}.
 */
public final class CliException extends RuntimeException
{
    /** Exit code of a bad command line or configuration, as picocli uses for usage errors. */
    public static final int USAGE = 2;

    /** Exit code of a failure while carrying out a valid command. */
    public static final int FAILURE = 1;

    private static final long serialVersionUID = 1L;

    private final int exitCode;

    public CliException(final int exitCode, final String message)
    {
        super(message);
        this.exitCode = exitCode;
    }

    public CliException(final int exitCode, final String message, final Throwable cause)
    {
        super(message, cause);
        this.exitCode = exitCode;
    }

    public int exitCode()
    {
        return exitCode;
    }
}
