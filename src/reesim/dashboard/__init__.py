"""The web explorer (Streamlit): ``reesim dashboard``."""
