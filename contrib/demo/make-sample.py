#!/usr/bin/env python3
"""Writes sample.eml, the message `make demo` sends: a Portuguese subject with
accents, a text and an HTML body, an inline image and two attachments.
Kept so the sample can be regenerated and read; sample.eml is committed."""
import struct
import zlib
from email import policy
from email.message import EmailMessage


def png(w, h, pixel):
    rows = b''.join(b'\x00' + b''.join(bytes(pixel(x, y)) for x in range(w))
                    for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return (struct.pack('>I', len(data)) + body
                + struct.pack('>I', zlib.crc32(body) & 0xffffffff))
    return (b'\x89PNG\r\n\x1a\n'
            + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 2, 0, 0, 0))
            + chunk(b'IDAT', zlib.compress(rows, 9)) + chunk(b'IEND', b''))


def facade(x, y):
    # A house front: sky, wall, a door and two windows.
    if y < 30:
        return (120, 170, 220)
    if 70 <= x < 90 and y >= 60:
        return (110, 70, 40)
    if (30 <= x < 55 or 105 <= x < 130) and 45 <= y < 65:
        return (200, 230, 250)
    return (230, 200, 150)


m = EmailMessage(policy=policy.SMTP)
m['From'] = 'Ana Souza <ana@pullmail.test>'
m['To'] = 'Bruno Lima <bruno@example.net>'
m['Subject'] = 'Relatório da obra: fotos e orçamento de março'
m['Date'] = 'Sun, 22 Nov 2026 10:30:00 -0300'
m['Message-ID'] = '<demo-2026-11-22@pullmail.test>'
cid = 'fachada@pullmail.test'
m.set_content(
    'Olá Bruno,\n\nSegue o relatório da obra com a foto da fachada e o '
    'orçamento de março.\nOs detalhes estão em '
    'https://pullmail.test/obra/relatorio.\n\nAbraço,\nAna\n', cte='quoted-printable')
m.add_alternative(f'''<html><body>
<p>Olá Bruno,</p>
<p>Segue o <b>relatório da obra</b> com a foto da fachada e o orçamento de março.</p>
<p><img src="cid:{cid}" alt="Foto da fachada" width="160" height="90"></p>
<p>Abraço,<br>Ana</p>
</body></html>
''', subtype='html', cte='quoted-printable')
m.get_payload()[1].add_related(png(160, 90, facade), 'image', 'png',
                               cid=f'<{cid}>', filename='fachada.png',
                               disposition='inline')
csv = ('item;quantidade;preço\ncimento;40;R$ 1.480,00\nareia;6;R$ 720,00\n'
       'mão de obra;1;R$ 9.500,00\n').encode()
m.add_attachment(csv, maintype='text', subtype='csv',
                 filename='orçamento-março.csv')
pdf = (b'%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n'
       b'2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n'
       b'3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\n'
       b'trailer<</Root 1 0 R>>\n%%EOF\n')
m.add_attachment(pdf, maintype='application', subtype='pdf',
                 filename='cronograma.pdf')
with open('sample.eml', 'wb') as f:
    f.write(m.as_bytes(policy=policy.SMTP))
