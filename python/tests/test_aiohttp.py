"""A real framework on aiocpp's loop: aiohttp (Debian's python3-aiohttp)
serves HTTP and WebSockets, and its client fetches through it, unchanged."""

import asyncio
import socket

import aiohttp
from aiohttp import web

from support import LoopTestCase


def make_app():
    async def hello(request):
        return web.Response(text=f'hello {request.match_info["name"]}')

    async def echo(request):
        body = await request.read()
        return web.Response(body=body[::-1], content_type='application/octet-stream')

    async def stream(request):
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for i in range(100):
            await response.write(b'%d,' % i)
        await response.write_eof()
        return response

    async def websocket(request):
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                await ws.send_str(message.data.upper())
        return ws

    app = web.Application()
    app.add_routes([web.get('/hello/{name}', hello), web.post('/echo', echo),
                    web.get('/stream', stream), web.get('/ws', websocket)])
    return app


class AiohttpTests(LoopTestCase):

    def serve(self):
        """Starts the app on an ephemeral port; returns (runner, base URL)."""
        async def start():
            runner = web.AppRunner(make_app())
            await runner.setup()
            site = web.TCPSite(runner, '127.0.0.1', 0)
            await site.start()
            port = runner.addresses[0][1]
            return runner, f'http://127.0.0.1:{port}'
        return self.run_async(start())

    def test_server_and_client(self):
        runner, base = self.serve()

        async def main():
            async with aiohttp.ClientSession() as session:
                async with session.get(f'{base}/hello/aiocpp') as response:
                    self.assertEqual(response.status, 200)
                    self.assertEqual(await response.text(), 'hello aiocpp')
                big = bytes(range(256)) * 4000  # 1,000 KiB (aiohttp allows 1 MiB), flow control both ways
                async with session.post(f'{base}/echo', data=big) as response:
                    self.assertEqual(await response.read(), big[::-1])
                async with session.get(f'{base}/stream') as response:
                    self.assertEqual(await response.text(), ''.join(f'{i},' for i in range(100)))
                async with session.get(f'{base}/missing') as response:
                    self.assertEqual(response.status, 404)
                # Many requests at once over the connector's pool.
                replies = await asyncio.gather(*(
                    session.get(f'{base}/hello/{i}') for i in range(50)))
                texts = [await r.text() for r in replies]
                for r in replies:
                    r.release()
                self.assertEqual(texts, [f'hello {i}' for i in range(50)])
            await runner.cleanup()
        self.run_async(main(), timeout=30)

    def test_websocket(self):
        runner, base = self.serve()

        async def main():
            async with aiohttp.ClientSession() as session:
                async with session.ws_connect(f'{base}/ws') as ws:
                    for word in ('one', 'two', 'three'):
                        await ws.send_str(word)
                        message = await ws.receive()
                        self.assertEqual(message.data, word.upper())
                    await ws.close()
            await runner.cleanup()
        self.run_async(main())

    def test_client_sees_a_server_that_hangs_up(self):
        # A server that accepts, reads the request and closes without an answer.
        async def main():
            async def hang_up(reader, writer):
                await reader.readuntil(b'\r\n\r\n')
                writer.close()
            server = await asyncio.start_server(hang_up, '127.0.0.1', 0, family=socket.AF_INET)
            port = server.sockets[0].getsockname()[1]
            async with aiohttp.ClientSession() as session:
                with self.assertRaises(aiohttp.ServerDisconnectedError):
                    await session.get(f'http://127.0.0.1:{port}/')
            server.close()
            await server.wait_closed()
        self.run_async(main())
