"""Device cameras (RealSense, UVC, video files, tactile, station) behind one threaded interface."""
