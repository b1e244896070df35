using System.Globalization;
using RuntimeCtl;

// usage: RuntimeCtl.Tests.Sender DIR SENDER COUNT — appends COUNT save_ckpt commands labelled SENDER-i, in order.
var dir = args[0];
var sender = args[1];
var count = int.Parse(args[2], CultureInfo.InvariantCulture);
for (var i = 0; i < count; i++)
{
    CommandSender.Enqueue(dir, "save_ckpt", kwargs: new Dictionary<string, object?> { ["label"] = $"{sender}-{i}" });
}

return 0;
