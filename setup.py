"""ivrbox packaging: the `firmware` package and the `ivrbox` console script."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent
VERSION = {}
exec((HERE / "firmware" / "__init__.py").read_text(), VERSION)

setup(
    name="ivrbox",
    version=VERSION["__version__"],
    description="Auto-attendant firmware for a Raspberry Pi on an analog phone line",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    license="MIT",
    python_requires=">=3.11",
    packages=find_packages(include=["firmware", "firmware.*"]),
    include_package_data=True,
    package_data={"firmware": ["web/templates/**/*", "web/static/**/*", "web/locale/**/*"]},
    install_requires=[
        "numpy>=1.24",
        "soundfile>=0.13",  # write options (bitrate_mode, compression_level) for MP3/Opus
        "soxr>=0.3",
        "pyserial>=3.5",
        "pydantic>=2.5",
        "PyYAML>=6.0",
        "tzdata",  # zoneinfo without the system's time-zone files
        # the owner's web page
        "fastapi>=0.110",
        "uvicorn>=0.29",
        "websockets>=12",  # the page's test call streams audio over a WebSocket
        "Jinja2>=3.1",
        "python-multipart>=0.0.9",
        "argon2-cffi>=23.1",
        "Babel>=2.14",
        "openpyxl>=3.1",  # lookup tables uploaded as XLSX
    ],
    extras_require={
        # Hardware access; imported lazily by the one module that owns each.
        "hw": [
            "sounddevice>=0.4.6",
            "gpiozero>=2.0",
            "lgpio>=0.2; platform_machine=='aarch64' or platform_machine=='armv7l'",
        ],
        "test": [
            "pytest>=7.4",
            "pytest-timeout>=2.2",
            "hypothesis>=6.90",
            "aiosmtpd>=1.4",
            "playwright>=1.40",
            "httpx>=0.27",  # FastAPI's TestClient
            "gpiozero>=2.0",
            "psutil>=5.9",  # benchmarks and resource tests
        ],
    },
    entry_points={"console_scripts": ["ivrbox = firmware.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Communications :: Telephony",
        "Operating System :: POSIX :: Linux",
    ],
)
