package io.ds4j.common;

/**
 * An object's consistency model, with the upstream's numbers (object_enum.h, spec §3.7). PRAM shows one writer's
 * updates in order; CAUSAL adds synchronous invalidation of other copies and per-key writer serialisation. A
 * standalone worker keeps one copy of every object, so both behave the same there; the model is stored with the
 * object for the cluster, where replicas make the difference.
 */
public enum ConsistencyType
{
    PRAM(0),
    CAUSAL(1);

    private final int value;

    ConsistencyType(final int value)
    {
        this.value = value;
    }

    public int value()
    {
        return value;
    }

    public static ConsistencyType of(final int value)
    {
        return switch (value)
        {
            case 0 -> PRAM;
            case 1 -> CAUSAL;
            default -> throw new DsException(StatusCode.INVALID, "unknown consistency type " + value
                + ", expected 0 (PRAM) or 1 (CAUSAL)");
        };
    }
}
