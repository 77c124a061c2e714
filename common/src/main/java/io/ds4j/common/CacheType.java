package io.ds4j.common;

/** Which tier a value is cached in: the shared-memory pool, or the worker's shared-disk cache. */
public enum CacheType
{
    MEMORY(0),
    DISK(1);

    private final int value;

    CacheType(final int value)
    {
        this.value = value;
    }

    public int value()
    {
        return value;
    }

    public static CacheType of(final int value)
    {
        return switch (value)
        {
            case 0 -> MEMORY;
            case 1 -> DISK;
            default -> throw new DsException(StatusCode.INVALID, "unknown cache type " + value + ", expected 0 or 1");
        };
    }
}
