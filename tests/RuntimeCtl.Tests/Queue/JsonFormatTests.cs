using System.Buffers;
using System.Text;
using System.Text.Json;

namespace RuntimeCtl.Tests.Queue;

public sealed class JsonFormatTests
{
    private static string Timestamp(DateTimeOffset time)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, JsonFormat.WriterOptions))
        {
            JsonFormat.WriteTimestamp(writer, time);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [Fact]
    public void WriteTimestamp_WholeSecond_HasAFractionAsPythonPrintsIt()
    {
        Assert.Equal("1700000000.0", Timestamp(DateTimeOffset.FromUnixTimeSeconds(1_700_000_000)));
    }

    [Fact]
    public void WriteTimestamp_ReadBackWithFromUnixSeconds_IsTheSameTimeToTheMicrosecond()
    {
        var time = new DateTimeOffset(2025, 3, 4, 5, 6, 7, TimeSpan.Zero).AddTicks(1_234_560);

        var back = JsonFormat.FromUnixSeconds(double.Parse(Timestamp(time), System.Globalization.CultureInfo.InvariantCulture));

        Assert.NotNull(back);
        Assert.True(Math.Abs((back.Value - time).TotalMicroseconds) < 1);
        Assert.Equal(JsonFormat.UnixSeconds(time), JsonFormat.UnixSeconds(back.Value), 6);
    }

    [Theory]
    [InlineData(double.NaN)]
    [InlineData(double.PositiveInfinity)]
    [InlineData(-1)]
    [InlineData(1e300)]
    public void FromUnixSeconds_NoTime_IsNull(double seconds)
    {
        Assert.Null(JsonFormat.FromUnixSeconds(seconds));
    }

    [Fact]
    public void FromUnixSeconds_TheLastSecondOfTheYear9999_IsATime()
    {
        var time = JsonFormat.FromUnixSeconds(253_402_300_799);

        Assert.NotNull(time);
        Assert.True(Math.Abs((time.Value - new DateTimeOffset(9999, 12, 31, 23, 59, 59, TimeSpan.Zero)).TotalMilliseconds) < 1); // a double holds seconds that far to about 50 µs
    }
}
