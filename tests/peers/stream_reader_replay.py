"""Replays StreamReader scripts through asyncio.StreamReader (the differential
test, tests/streams_differential.cpp; the format is described in
tests/stream_reader_script.hpp).

stdin: scripts, each ended by a line "end". stdout: for each script, one
transcript line per read, then "end". The driver is the C++ side's: one task
performs the reads in order; after each event or read request the driver
yields to the loop twice; at the end it feeds EOF unless the script did.
"""
import asyncio
import sys


class Boom(Exception):
    pass


def show(data):
    return data.hex() if data else "-"


def unhex(text):
    return b"" if text == "-" else bytes.fromhex(text)


async def perform(reader, op, arg):
    try:
        if op == "read":
            data = await reader.read(int(arg))
        elif op == "readline":
            data = await reader.readline()
        elif op == "readuntil":
            data = await reader.readuntil(unhex(arg))
        else:
            data = await reader.readexactly(int(arg))
        return "ok " + show(data)
    except asyncio.IncompleteReadError as e:
        expected = "None" if e.expected is None else str(e.expected)
        return f"IncompleteReadError {show(e.partial)} {expected}"
    except asyncio.LimitOverrunError as e:
        return f"LimitOverrunError {e.consumed} {e.args[0]}"
    except ValueError as e:
        return f"ValueError {e.args[0]}"
    except Boom:
        return "boom"
    except RuntimeError as e:
        return f"RuntimeError {e.args[0]}"


async def run_script(lines):
    limit = int(lines[0].split()[1])
    reader = asyncio.StreamReader(limit=limit)
    reads = []
    transcript = []
    more = None
    ended = False

    async def reads_in_order():
        nonlocal more
        while True:
            while not reads:
                if ended:
                    return
                more = asyncio.get_running_loop().create_future()
                await more
            op, arg = reads.pop(0)
            transcript.append(await perform(reader, op, arg))

    def notify():
        if more is not None and not more.done():
            more.set_result(None)

    task = asyncio.get_running_loop().create_task(reads_in_order())
    eof = False
    for line in lines[1:]:
        op, _, arg = line.partition(" ")
        if op == "feed":
            reader.feed_data(unhex(arg))
        elif op == "eof":
            reader.feed_eof()
            eof = True
        elif op == "exception":
            reader.set_exception(Boom())
        else:
            reads.append((op, arg))
            notify()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
    if not eof:
        reader.feed_eof()
    ended = True
    notify()
    await task
    return transcript


async def main():
    script = []
    for line in sys.stdin:
        line = line.rstrip("\n")
        if line != "end":
            script.append(line)
            continue
        for entry in await run_script(script):
            print(entry)
        print("end")
        script = []


asyncio.run(main())
