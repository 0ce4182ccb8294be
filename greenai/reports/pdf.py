"""The report as PDF, rendered from its HTML by WeasyPrint (needs the system's Pango)."""

from __future__ import annotations

import logging
from pathlib import Path

from greenai.errors import GreenAIError

__all__ = ["write_pdf"]

INSTALL_HINT = (
    "pip install 'greenai[report]' (WeasyPrint), and on Debian or Ubuntu "
    "apt-get install -y libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core"
)


def write_pdf(html: str, path: Path) -> Path:
    """Renders ``html`` to a PDF file.

    Args:
        html: A self-contained HTML document (as from :func:`render_html`).
        path: The PDF file to write.

    Returns:
        ``path``.

    Raises:
        GreenAIError: WeasyPrint or its system libraries are missing.
    """
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango not found
        raise GreenAIError(f"the PDF report needs WeasyPrint ({exc}): {INSTALL_HINT}") from exc
    # WeasyPrint and fontTools log every font subset and CSS hint at INFO/WARNING.
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    weasyprint.HTML(string=html, base_url=str(path.parent)).write_pdf(str(path))
    return path
