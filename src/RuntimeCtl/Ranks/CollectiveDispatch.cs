using System.Buffers.Binary;
using System.Text;

namespace RuntimeCtl;

/// <summary>What a rank learnt from the last frame of a poll.</summary>
/// <param name="Due">Whether the poll was due (rank 0 read the queue).</param>
/// <param name="Calls">The time-based calls until the ranks meet again (0: the next call).</param>
/// <param name="Backlog">Whether commands were left for the next call (<see cref="RuntimeControllerOptions.MaxCommandsPerPoll"/>).</param>
internal readonly record struct PollFrame(bool Due, int Calls, bool Backlog);

/// <summary>
/// Several ranks: every rank runs the same commands at the same call. Rank 0 writes the batch's write-ahead records,
/// then broadcasts a frame (due, last batch of the poll, backlog, payload length, calls until the ranks meet again)
/// and the dispatched commands as one buffer; every rank runs them in order; rank 0 gathers the failures and records
/// one ack per command. A poll is one or more batches; the other ranks follow frames until the last one
/// (<see cref="Follow"/>).
/// </summary>
internal sealed class CollectiveDispatch<TContext>(IProcessGroup group, Dictionary<string, Control<TContext>> controls, Func<bool, int> callsUntilNext)
    : CommandDispatch<TContext>(controls)
{
    private const int FrameBytes = 16;
    private const int DueFlag = 1;
    private const int LastFlag = 2;
    private const int BacklogFlag = 4;

    /// <summary>Gets what the last frame sent or received said.</summary>
    public PollFrame LastFrame { get; private set; }

    /// <summary>Rank 0, a call that is not due: tells the other ranks, and when to meet again.</summary>
    public void SendNotDue(int calls)
    {
        Span<byte> frame = stackalloc byte[FrameBytes];
        WriteFrame(frame, LastFlag, 0, calls);
        group.Broadcast(frame);
        LastFrame = new PollFrame(false, calls, false);
    }

    public override bool RunsEmptyPlans => true;

    public override void Run(QueueEngine<TContext> engine, TContext context, List<Slot> plan, long? step)
    {
        engine.BeginAll(plan, step); // what cannot be begun is deferred, before anything is broadcast
        var last = !engine.Continues;
        var backlog = last && engine.More;
        var calls = last ? callsUntilNext(backlog) : 0;
        var payload = Encode(plan);
        Span<byte> frame = stackalloc byte[FrameBytes];
        WriteFrame(frame, DueFlag | (last ? LastFlag : 0) | (backlog ? BacklogFlag : 0), payload.Length, calls);
        group.Broadcast(frame);
        LastFrame = new PollFrame(true, calls, backlog);
        if (payload.Length == 0)
        {
            foreach (var slot in plan)
            {
                engine.Record(slot, step, default, group.Size, rankErrors: null);
            }

            return;
        }

        group.Broadcast(payload);
        var dispatched = new Outcome<TContext>[Count(plan)];
        var next = 0;
        foreach (var slot in plan)
        {
            if (slot.Refusal is null)
            {
                dispatched[next++] = CommandExecutor.Execute(Controls, context, slot.Line);
            }
        }

        var rankErrors = GatherFailures(dispatched)!;
        next = 0;
        foreach (var slot in plan)
        {
            if (slot.Refusal is null)
            {
                engine.Record(slot, step, dispatched[next], group.Size, rankErrors[next]);
                next++;
            }
            else
            {
                engine.Record(slot, step, default, group.Size, rankErrors: null);
            }
        }
    }

    /// <summary>A rank other than 0: runs the batches rank 0 broadcasts, until the last frame of the poll.</summary>
    public PollFrame Follow(TContext context)
    {
        Span<byte> frame = stackalloc byte[FrameBytes];
        while (true)
        {
            group.Broadcast(frame);
            var flags = BinaryPrimitives.ReadInt32LittleEndian(frame);
            var length = BinaryPrimitives.ReadInt32LittleEndian(frame[4..]);
            LastFrame = new PollFrame((flags & DueFlag) != 0, BinaryPrimitives.ReadInt32LittleEndian(frame[8..]), (flags & BacklogFlag) != 0);
            if (length > 0)
            {
                var payload = new byte[length];
                group.Broadcast(payload);
                var lines = Decode(payload);
                var outcomes = new Outcome<TContext>[lines.Count];
                for (var i = 0; i < lines.Count; i++)
                {
                    outcomes[i] = CommandExecutor.Execute(Controls, context, lines[i]);
                    lines[i].Dispose();
                }

                GatherFailures(outcomes);
            }

            if ((flags & LastFlag) != 0)
            {
                return LastFrame;
            }
        }
    }

    private static void WriteFrame(Span<byte> frame, int flags, int length, int calls)
    {
        BinaryPrimitives.WriteInt32LittleEndian(frame, flags);
        BinaryPrimitives.WriteInt32LittleEndian(frame[4..], length);
        BinaryPrimitives.WriteInt32LittleEndian(frame[8..], calls);
        BinaryPrimitives.WriteInt32LittleEndian(frame[12..], 0);
    }

    private static int Count(List<Slot> plan)
    {
        var count = 0;
        foreach (var slot in plan)
        {
            count += slot.Refusal is null ? 1 : 0;
        }

        return count;
    }

    private static byte[] Encode(List<Slot> plan)
    {
        var size = 0;
        foreach (var slot in plan)
        {
            if (slot.Refusal is null)
            {
                size += 4 + slot.Line.Bytes.Length;
            }
        }

        var payload = size == 0 ? [] : new byte[size];
        var at = 0;
        foreach (var slot in plan)
        {
            if (slot.Refusal is null)
            {
                BinaryPrimitives.WriteInt32LittleEndian(payload.AsSpan(at), slot.Line.Bytes.Length);
                slot.Line.Bytes.Span.CopyTo(payload.AsSpan(at + 4));
                at += 4 + slot.Line.Bytes.Length;
            }
        }

        return payload;
    }

    private static List<CommandLine> Decode(byte[] payload)
    {
        var lines = new List<CommandLine>();
        for (var at = 0; at < payload.Length;)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(payload.AsSpan(at));
            lines.Add(CommandLine.Parse(0, payload.AsMemory(at + 4, length)));
            at += 4 + length;
        }

        return lines;
    }

    /// <summary>Gathers every rank's failures to rank 0: lengths first, then (only if some rank failed) the padded messages.</summary>
    /// <returns>On rank 0, each dispatched command's failures by rank (empty when it ran everywhere); null on the other ranks.</returns>
    private IReadOnlyDictionary<int, string>[]? GatherFailures(Outcome<TContext>[] outcomes)
    {
        var mine = EncodeFailures(outcomes);
        Span<byte> lengthBlock = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(lengthBlock, mine.Length);
        var lengths = new byte[group.Rank == 0 ? 4 * group.Size : 0];
        group.Gather(lengthBlock, lengths);
        Span<byte> maxBlock = stackalloc byte[4];
        if (group.Rank == 0)
        {
            var max = 0;
            for (var r = 0; r < group.Size; r++)
            {
                max = Math.Max(max, BinaryPrimitives.ReadInt32LittleEndian(lengths.AsSpan(4 * r)));
            }

            BinaryPrimitives.WriteInt32LittleEndian(maxBlock, max);
        }

        group.Broadcast(maxBlock);
        var blockSize = BinaryPrimitives.ReadInt32LittleEndian(maxBlock);
        var result = group.Rank == 0 ? new Dictionary<int, string>[outcomes.Length] : null;
        if (result is not null)
        {
            for (var i = 0; i < result.Length; i++)
            {
                result[i] = [];
            }
        }

        if (blockSize == 0)
        {
            return result;
        }

        var block = new byte[blockSize];
        mine.CopyTo(block, 0);
        var all = new byte[group.Rank == 0 ? blockSize * group.Size : 0];
        group.Gather(block, all);
        if (result is null)
        {
            return null;
        }

        for (var r = 0; r < group.Size; r++)
        {
            var used = BinaryPrimitives.ReadInt32LittleEndian(lengths.AsSpan(4 * r));
            var span = all.AsSpan(r * blockSize, used);
            while (!span.IsEmpty)
            {
                var index = BinaryPrimitives.ReadInt32LittleEndian(span);
                var messageLength = BinaryPrimitives.ReadInt32LittleEndian(span[4..]);
                result[index][r] = Encoding.UTF8.GetString(span.Slice(8, messageLength));
                span = span[(8 + messageLength)..];
            }
        }

        return result;
    }

    private static byte[] EncodeFailures(Outcome<TContext>[] outcomes)
    {
        using var stream = new MemoryStream();
        Span<byte> head = stackalloc byte[8];
        for (var i = 0; i < outcomes.Length; i++)
        {
            if (outcomes[i].Status == AckStatus.Applied)
            {
                continue;
            }

            var message = Encoding.UTF8.GetBytes(outcomes[i].Error ?? string.Empty);
            BinaryPrimitives.WriteInt32LittleEndian(head, i);
            BinaryPrimitives.WriteInt32LittleEndian(head[4..], message.Length);
            stream.Write(head);
            stream.Write(message);
        }

        return stream.ToArray();
    }
}
