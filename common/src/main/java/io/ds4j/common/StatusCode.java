package io.ds4j.common;

/**
 * Status codes with the upstream datasystem's numeric values (include/datasystem/utils/status.h), so that logs,
 * metrics and tooling read the same numbers whichever implementation produced them.
 */
public enum StatusCode
{
    OK(0),
    DUPLICATED(1),
    INVALID(2),
    NOT_FOUND(3),
    KVSTORE_ERROR(4),
    RUNTIME_ERROR(5),
    OUT_OF_MEMORY(6),
    IO_ERROR(7),
    NOT_READY(8),
    NOT_AUTHORIZED(9),
    UNKNOWN_ERROR(10),
    INTERRUPTED(11),
    OUT_OF_RANGE(12),
    NO_SPACE(13),
    NOT_LEADER_MASTER(14),
    RECOVERY_ERROR(15),
    RECOVERY_IN_PROGRESS(16),
    FILE_NAME_TOO_LONG(17),
    FILE_LIMIT_REACHED(18),
    TRY_AGAIN(19),
    DATA_INCONSISTENCY(20),
    SHUTTING_DOWN(21),
    WORKER_ABNORMAL(22),
    CLIENT_WORKER_DISCONNECT(23),
    WORKER_TIMEOUT(24),
    MASTER_TIMEOUT(25),
    REPLICA_NOT_READY(27),
    CLIENT_WORKER_VERSION_MISMATCH(28),
    SERVER_FD_CLOSED(29),
    RETRY_IF_LEAVING(30),
    SCALE_DOWN(31),
    SCALING(32),
    CLIENT_DEADLOCK(33),
    LRU_HARD_LIMIT(34),
    LRU_SOFT_LIMIT(35),
    NOT_SUPPORTED(36),
    NO_AVAILABLE_WORKER(37),
    NOT_OWNER(38),
    RPC_CANCELLED(1000),
    RPC_DEADLINE_EXCEEDED(1001),
    RPC_UNAVAILABLE(1002),
    RPC_STREAM_END(1003),
    URMA_ERROR(1004),
    RDMA_ERROR(1005),
    RPC_PEER_DEAD(1011),
    RPC_NETWORK_BLIP(1012),
    OC_ALREADY_SEALED(2000),
    OC_OBJECT_NOT_IN_USED(2001),
    OC_REMOTE_GET_NOT_ENOUGH(2002),
    WRITE_BACK_QUEUE_FULL(2003),
    OC_KEY_ALREADY_EXIST(2004),
    WORKER_PULL_OBJECT_NOT_FOUND(2005),
    BUFFER_DEPRECATED(2006),
    SC_STREAM_NOT_FOUND(3000),
    SC_PRODUCER_NOT_FOUND(3001),
    SC_CONSUMER_NOT_FOUND(3002),
    SC_END_OF_PAGE(3003),
    SC_ALREADY_CLOSED(3009),
    ACL_ERROR(5000),
    HCCL_ERROR(5001),
    FUTURE_TIMEOUT(5002),
    CUDA_ERROR(5003),
    NCCL_ERROR(5004);

    private static final StatusCode[] BY_SMALL_VALUE = new StatusCode[64];

    static
    {
        for (final StatusCode code : values())
        {
            if (code.value < BY_SMALL_VALUE.length)
            {
                BY_SMALL_VALUE[code.value] = code;
            }
        }
    }

    private final int value;

    StatusCode(final int value)
    {
        this.value = value;
    }

    /** The upstream's numeric value. */
    public int value()
    {
        return value;
    }

    /** The code for an upstream number; an unknown number maps to {@link #UNKNOWN_ERROR}. */
    public static StatusCode of(final int value)
    {
        if (value >= 0 && value < BY_SMALL_VALUE.length && BY_SMALL_VALUE[value] != null)
        {
            return BY_SMALL_VALUE[value];
        }
        for (final StatusCode code : values())
        {
            if (code.value == value)
            {
                return code;
            }
        }
        return UNKNOWN_ERROR;
    }
}
