package io.ds4j.common;

/** What a set does when the key exists: NONE overwrites (a new version), NX keeps the old value and succeeds. */
public enum ExistenceOpt
{
    NONE(0),
    NX(1);

    private final int value;

    ExistenceOpt(final int value)
    {
        this.value = value;
    }

    public int value()
    {
        return value;
    }

    public static ExistenceOpt of(final int value)
    {
        return switch (value)
        {
            case 0 -> NONE;
            case 1 -> NX;
            default -> throw new DsException(StatusCode.INVALID, "unknown existence option " + value + ", expected 0 or 1");
        };
    }
}
